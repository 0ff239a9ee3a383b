import { bodyFields, type EventHead } from '../../core/event.js'
import { quote } from '../../core/json-string.js'
import { AvroError, type AvroReader } from '../../flume-avro/avro.js'
import { HEADER_PREFIX } from '../../flume-avro/tsf-headers.js'

// AvroFlumeEvent {headers: map<string>, body: bytes} straight from the frame into event heads: the
// body bytes go through bodyFields() (body, or body + body64 when not UTF-8), header spans become
// JSON strings, and no Avro record object is ever built.
//
// Flume's `timestamp` header (epoch ms, from its timestamp interceptor or a source) becomes ts and
// `host` becomes host; tsf.* headers written by `tsf ship flume+avro://` give src, seq and the
// other tsf fields back, so a tsf collector behind a Flume hop still deduplicates.

// a JSON number as Flume's interceptors write epoch ms (no sign, no leading zero)
const DIGITS = /^(?:0|[1-9]\d{0,15})$/

// fields whose type a tsf.* header restores (others carry JSON text)
const NUMBER_FIELDS = new Set(['seq', 'pos'])
const TRUE_FIELDS = new Set(['cont', 'truncated'])
// fields a header may never set: they have their own mapping or belong to the link
const RESERVED = new Set(['body', 'body64', 'ts', 'host', 'headers', '_ack'])

export const decodeEvent = (r: AvroReader, now: number): EventHead => {
  const buf = r.buf
  let ts: string | undefined
  let host: string | undefined
  let headers = ''
  let extra = ''
  let src = ''
  for (let n = r.blockCount(); n > 0; n = r.blockCount()) {
    for (let i = 0; i < n; i++) {
      r.span()
      const key = buf.toString('utf8', r.start, r.pos)
      r.span()
      const value = buf.toString('utf8', r.start, r.pos)
      if (key === 'timestamp' && ts === undefined && DIGITS.test(value)) ts = value
      else if (key === 'host' && host === undefined) host = value
      else if (key.startsWith(HEADER_PREFIX) && restoreField(key.slice(HEADER_PREFIX.length), value)) {
        const name = key.slice(HEADER_PREFIX.length)
        if (name === 'src') src = `,"src":${quote(value)}`
        else extra += `,${quote(name)}:${value}` // checked: a number, true, or JSON text
      } else headers += `${headers ? ',' : ''}${quote(key)}:${quote(value)}`
    }
  }
  r.span()
  let head = `{${bodyFields(buf.subarray(r.start, r.pos))},"ts":${ts ?? now}`
  if (host !== undefined) head += `,"host":${quote(host)}`
  if (headers) head += `,"headers":{${headers}}`
  return head + src + extra
}

// whether a tsf.NAME header can become the field NAME
const restoreField = (name: string, value: string): boolean => {
  if (!name || RESERVED.has(name)) return false
  if (name === 'src') return true
  if (NUMBER_FIELDS.has(name)) return DIGITS.test(value)
  if (TRUE_FIELDS.has(name)) return value === 'true'
  if (/[\r\n]/.test(value)) return false // JSON may hold line breaks between tokens; an NDJSON line may not
  try {
    JSON.parse(value)
    return true
  } catch {
    return false
  }
}

// appendBatch(array<AvroFlumeEvent>) or append(AvroFlumeEvent) parameters → heads. An empty event
// is 2 bytes on the wire and ~100 in memory as a head: maxEvents bounds what one call can make.
export const decodeEvents = (r: AvroReader, batch: boolean, now: number, maxEvents = Number.POSITIVE_INFINITY): EventHead[] => {
  const heads: EventHead[] = []
  if (!batch) {
    heads.push(decodeEvent(r, now))
    return heads
  }
  for (let n = r.blockCount(); n > 0; n = r.blockCount()) {
    if (heads.length + n > maxEvents) throw new AvroError(`a call of more than ${maxEvents} events`)
    for (let i = 0; i < n; i++) heads.push(decodeEvent(r, now))
  }
  return heads
}
