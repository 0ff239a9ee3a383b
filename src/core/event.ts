import { isUtf8 } from 'node:buffer'
import { encodeHeaders, quote } from './json-string.js'
import { warnOnce } from './log.js'

// The event contract (docs/design.md §1). Unknown fields are carried through untouched.
export interface TsfEvent {
  body: string
  body64?: string
  ts?: number
  host?: string
  headers?: Record<string, string>
  src?: string
  seq?: number
  pos?: number
  // set on every piece but the last of a line the codec had to cut (see max line size)
  cont?: boolean
  // set when the rest of an oversize line was dropped on the user's request (--truncate)
  truncated?: boolean
  _ack?: string
  [field: string]: unknown
}

// An "event head" is an event's JSON text without its closing brace. Stages append what they
// must (a cursor, or just "}") without parsing or re-serialising the event.
export type EventHead = string | Buffer

// The body fields of an event made from raw bytes: "body" alone when the bytes are UTF-8,
// "body" (a readable rendering) plus "body64" (the exact bytes) when they are not.
export const bodyFields = (bytes: Buffer): string => {
  if (isUtf8(bytes)) return `"body":${quote(bytes.toString('utf8'))}`
  return `"body":${quote(bytes.toString('utf8'))},"body64":"${bytes.toString('base64')}"`
}

// The original bytes of an event's body, as every sink must write them.
export const bodyBytes = (event: Pick<TsfEvent, 'body' | 'body64'>): Buffer =>
  typeof event.body64 === 'string' ? Buffer.from(event.body64, 'base64') : Buffer.from(String(event.body ?? ''), 'utf8')

export interface Envelope {
  host: string
  headers: Record<string, string>
}

// The constant part of a source's events, encoded once: ,"host":"h","headers":{...}
export const encodeEnvelope = (envelope: Envelope): string => {
  const headers = Object.keys(envelope.headers).length ? `,"headers":${encodeHeaders(envelope.headers)}` : ''
  return `,"host":${quote(envelope.host)}${headers}`
}

export interface SourceFields {
  ts: number
  src?: string
  seq?: number
  pos?: number
  cont?: boolean
  truncated?: boolean
}

// Build a source event head from raw line bytes without JSON.stringify on the common path.
export const sourceEventHead = (bytes: Buffer, fields: SourceFields, envelope: string): string => {
  let head = `{${bodyFields(bytes)},"ts":${fields.ts}${envelope}`
  if (fields.src !== undefined) head += `,"src":"${fields.src}","seq":${fields.seq}`
  if (fields.pos !== undefined) head += `,"pos":${fields.pos}`
  if (fields.cont) head += ',"cont":true'
  if (fields.truncated) head += ',"truncated":true'
  return head
}

// A plain line (not a tsf event) read from a pipe becomes an event whose body is that line.
export const plainLineHead = (bytes: Buffer, flags?: { cont?: boolean; truncated?: boolean }): string => {
  let head = `{${bodyFields(bytes)}`
  if (flags?.cont) head += ',"cont":true'
  if (flags?.truncated) head += ',"truncated":true'
  return head
}

// A JSON object with a string body is a tsf event; undefined for anything else.
export const tryParseEvent = (text: string): TsfEvent | undefined => {
  if (text.charCodeAt(0) !== 0x7b /* { */) return undefined
  try {
    const value = JSON.parse(text) as unknown
    if (value && typeof value === 'object' && !Array.isArray(value) && typeof (value as TsfEvent).body === 'string') {
      return value as TsfEvent
    }
  } catch {
    // not JSON: the caller treats it as plain text
  }
  return undefined
}

// Any line to an event object: plain text, broken JSON and JSON that is not an event become
// the body of a new event. Nothing is dropped for its shape.
export const parseEventLine = (line: Buffer | string): TsfEvent => {
  const text = typeof line === 'string' ? line : line.toString('utf8')
  const event = tryParseEvent(text)
  if (event) return event
  if (typeof line !== 'string' && !isUtf8(line)) return { body: text, body64: line.toString('base64') }
  return { body: text }
}

// Serialise a whole event object (slow path: sinks that build events from parts). undefined when
// the event is nested too deep to serialise (JSON.parse takes any depth, JSON.stringify does not):
// the caller keeps the original line as a plain body instead, and says so once.
export const eventHeadFromObject = (event: TsfEvent): string | undefined => {
  const { _ack, ...rest } = event
  void _ack
  try {
    return JSON.stringify(rest).slice(0, -1)
  } catch (e) {
    if (!(e instanceof RangeError)) throw e
    warnOnce(
      'too-deep',
      'an event nested too deep to re-encode was kept whole as the body of a plain event (counted as a bad event, nothing dropped)',
    )
    return undefined
  }
}
