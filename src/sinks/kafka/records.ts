import { bodyBytes, parseEventLine, type EventHead } from '../../core/event.js'
import { warnOnce } from '../../core/log.js'
import type { OutRecord } from '../../kafka/producer.js'
import { validTopic } from '../../kafka/url.js'
import { encodeRecordHeaders, recordTail } from '../../kafka/record-tail.js'

export interface RecordRules {
  // the default topic (from the URL)
  topic: string
  // header whose value is the record key (Flume's "key"); else the event's src
  keyHeader?: string
  // header whose value overrides the topic (Flume's allowTopicOverride/topicHeader)
  topicHeader?: string
  // event: the event line (without its ack cursor); body: the original bytes of the body
  value: 'event' | 'body'
}

export interface KafkaRecord extends OutRecord {
  topic: string
  // the encoded record tail (key, value, headers), what the Produce request copies
  tail: Buffer
  bytes: number
}

// An event head (JSON without its closing brace, cursor already cut off) → a Kafka record.
// Keying by src keeps a stream in one partition, so in order; events without a src (plain text
// piped in) get no key and spread over the partitions.
export const toRecord = (head: EventHead, rules: RecordRules): KafkaRecord => {
  const line = typeof head === 'string' ? head + '}' : Buffer.concat([head, CLOSE])
  const event = parseEventLine(line)
  const headers =
    event.headers && typeof event.headers === 'object' && !Array.isArray(event.headers) ? stringHeaders(event.headers) : undefined
  const rule = headerRules(headers, rules)
  const key = rule.key ?? (typeof event.src === 'string' ? event.src : null)
  const value = rules.value === 'body' ? bodyBytes(event) : line
  const tail = recordTail(key, value, encodeRecordHeaders(headers))
  return { topic: rule.topic, key, value, headers, tail, bytes: tail.length }
}

// The key (--key-header) and topic (--topic-header) an event's headers choose.
export const headerRules = (headers: Record<string, string> | undefined, rules: RecordRules): { key?: string; topic: string } => {
  const key = rules.keyHeader ? headers?.[rules.keyHeader] : undefined
  let topic = rules.topic
  const wanted = rules.topicHeader ? headers?.[rules.topicHeader] : undefined
  if (wanted !== undefined) {
    if (validTopic(wanted)) topic = wanted
    else
      warnOnce(
        `topic:${wanted}`,
        `header ${rules.topicHeader}='${wanted}' is not a Kafka topic name: sending such events to ${rules.topic}`,
      )
  }
  return { key, topic }
}

const CLOSE = Buffer.from('}')

// Kafka record headers are bytes; ours are strings. Anything else a filter put there is stringified;
// a value nested too deep to stringify (a poison event) is sent as a marker rather than stopping
// ship on a RangeError for every event behind it (the event itself still carries it whole).
export const stringHeaders = (headers: Record<string, unknown>): Record<string, string> | undefined => {
  const out: Record<string, string> = {}
  let any = false
  for (const [k, v] of Object.entries(headers)) {
    out[k] = typeof v === 'string' ? v : stringified(k, v)
    any = true
  }
  return any ? out : undefined
}

const TOO_DEEP = '[nested too deep]'

const stringified = (name: string, value: unknown): string => {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    warnOnce('deep-header', `header ${name} of an event is nested too deep to stringify: sent as the header value ${TOO_DEEP}`)
    return TOO_DEEP
  }
}
