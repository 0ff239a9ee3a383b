import { isUtf8 } from 'node:buffer'
import { bodyFields, eventHeadFromObject, tryParseEvent, type TsfEvent } from '../../core/event.js'
import { encodeHeaders } from '../../core/json-string.js'
import type { FetchedRecord } from '../../kafka/consumer.js'

// A Kafka record → an event head. A value that is a tsf event (what `tsf ship kafka://` sends) is
// that event; anything else is the body of a new event. Either way the record's place goes into
// Flume's Kafka source headers: topic, partition, offset and key (key64 when the key is not
// UTF-8). An event without a stream of its own gets one from its place, src "kafka:TOPIC:PARTITION"
// and seq offset+1, so a sink that dedupes on (src, seq) drops redelivered records exactly.
export const recordHead = (topic: string, partition: number, record: FetchedRecord): string => {
  const value = record.value ?? EMPTY
  const meta: Record<string, string> = { topic, partition: String(partition), offset: record.offset }
  if (record.key) {
    if (isUtf8(record.key)) meta.key = record.key.toString('utf8')
    else meta.key64 = record.key.toString('base64')
  }
  const seq = Number(record.offset) + 1
  const event = value[0] === 0x7b /* { */ && isUtf8(value) ? tryParseEvent(value.toString('utf8')) : undefined
  // an event nested too deep to re-encode is kept whole as a plain body (see eventHeadFromObject)
  const head = event && eventWithPlace(event, meta, topic, partition, seq)
  if (head !== undefined) return head
  const ts = Number(record.timestamp)
  return `{${bodyFields(value)},"ts":${Number.isFinite(ts) ? ts : Date.now()},"headers":${encodeHeaders(meta)},"src":"kafka:${topic}:${partition}","seq":${seq}`
}

const EMPTY = Buffer.alloc(0)

const eventWithPlace = (
  event: TsfEvent,
  meta: Record<string, string>,
  topic: string,
  partition: number,
  seq: number,
): string | undefined => {
  const own = event.headers && typeof event.headers === 'object' && !Array.isArray(event.headers) ? event.headers : {}
  event.headers = { ...own, ...meta }
  if (typeof event.src !== 'string') {
    event.src = `kafka:${topic}:${partition}`
    event.seq = seq
  }
  // a cursor has no meaning past the pipe it was written to
  return eventHeadFromObject(event)
}
