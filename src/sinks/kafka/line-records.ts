// Kafka records straight from a batch's NDJSON bytes (InputOptions.lines 'events'), without
// parsing each event: the value is the line as it is, the key its src, the headers its headers.
// A scan of the top-level fields finds src and headers (strings are skipped with indexOf); the
// events of one stream share src and headers, so both are decoded and encoded once and reused
// while the bytes repeat. The reader hands over valid JSON objects only (classifyLine, or a linked
// tsf writer); a line the scan does not recognise (whitespace, escaped names, no string body, …)
// goes through toRecord, which parses it.
import { encodeRecordHeaders, recordTail } from '../../kafka/record-tail.js'
import { headerRules, stringHeaders, toRecord, type KafkaRecord, type RecordRules } from './records.js'

const QUOTE = 0x22
const BACKSLASH = 0x5c

// the closing quote of a string whose first byte is at `from`, or -1
const stringEnd = (b: Buffer, from: number, end: number): number => {
  for (;;) {
    const q = b.indexOf(QUOTE, from)
    if (q < 0 || q >= end) return -1
    let k = q - 1
    while (b[k] === BACKSLASH) k--
    if ((q - 1 - k) % 2 === 0) return q
    from = q + 1
  }
}

// b[s, e) holds the bytes of `to` (short runs: a byte loop is cheaper than a call into Buffer.compare)
const same = (b: Buffer, s: number, e: number, to: Buffer): boolean => {
  if (e - s !== to.length) return false
  for (let i = 0; i < to.length; i++) if (b[s + i] !== to[i]) return false
  return true
}

// (short runs: names and src values; indexOf would search the whole block when there is none)
const hasBackslash = (b: Buffer, s: number, e: number): boolean => {
  for (let i = s; i < e; i++) if (b[i] === BACKSLASH) return true
  return false
}

// past the object or array starting at `i`, or -1
const skipNested = (b: Buffer, i: number, end: number): number => {
  let depth = 0
  for (; i < end; i++) {
    const c = b[i]!
    if (c === QUOTE) {
      i = stringEnd(b, i + 1, end)
      if (i < 0) return -1
    } else if (c === 0x7b || c === 0x5b) depth++
    else if (c === 0x7d || c === 0x5d) {
      if (--depth === 0) return i + 1
    }
  }
  return -1
}

interface Fields {
  // the src string's bytes (no quotes); srcStart -1: no src, -2: a src that is not a string
  srcStart: number
  srcEnd: number
  headersStart: number // -1: none
  headersEnd: number
}

const isName = same
const SRC = Buffer.from('src')
const HEADERS = Buffer.from('headers')
const BODY = Buffer.from('body')

// The top-level src and headers of the object in b[start, end) (b[start] '{', b[end - 1] '}'), or
// undefined for a line to parse instead. Later duplicate names win, as with JSON.parse.
export const scanEvent = (b: Buffer, start: number, end: number): Fields | undefined => {
  const f: Fields = { srcStart: -1, srcEnd: -1, headersStart: -1, headersEnd: -1 }
  let body = false
  let i = start + 1
  for (;;) {
    if (b[i] !== QUOTE) return undefined
    const nameEnd = stringEnd(b, i + 1, end)
    if (nameEnd < 0 || hasBackslash(b, i + 1, nameEnd)) return undefined
    const nameStart = i + 1
    i = nameEnd + 1
    if (b[i++] !== 0x3a /* : */) return undefined
    const valueStart = i
    const c = b[i]
    if (c === QUOTE) {
      i = stringEnd(b, i + 1, end)
      if (i < 0) return undefined
      i++
    } else if (c === 0x7b || c === 0x5b) {
      i = skipNested(b, i, end)
      if (i < 0) return undefined
    } else while (i < end && b[i] !== 0x2c && b[i] !== 0x7d) i++
    if (isName(b, nameStart, nameEnd, SRC)) {
      f.srcStart = c === QUOTE ? valueStart + 1 : -2
      f.srcEnd = i - 1
    } else if (isName(b, nameStart, nameEnd, HEADERS)) {
      f.headersStart = valueStart
      f.headersEnd = i
    } else if (isName(b, nameStart, nameEnd, BODY)) body = c === QUOTE
    if (b[i] === 0x2c /* , */) i++
    else if (b[i] === 0x7d && i === end - 1) return body ? f : undefined
    else return undefined
  }
}

interface HeaderSet {
  bytes: Buffer
  encoded: Buffer
  key?: string
  topic: string
  headers?: Record<string, string>
}

export class LineRecords {
  private src?: { raw: Buffer; text: string; bytes: Buffer }
  private headerSet?: HeaderSet
  private noHeaders?: HeaderSet

  constructor(private readonly rules: RecordRules) {}

  // lines: "{…}\n" each
  records(lines: Buffer): KafkaRecord[] {
    const out: KafkaRecord[] = []
    for (let at = 0; at < lines.length; ) {
      const nl = lines.indexOf(10, at)
      const f = scanEvent(lines, at, nl)
      out.push(f ? this.record(lines, at, nl, f) : toRecord(lines.subarray(at, nl - 1), this.rules))
      at = nl + 1
    }
    return out
  }

  private record(b: Buffer, start: number, end: number, f: Fields): KafkaRecord {
    const set = this.headersOf(b, f)
    let key: string | null = set.key ?? null
    let keyBytes: Buffer | string | null = key
    if (key === null && f.srcStart >= 0) {
      const src = this.srcOf(b, f.srcStart, f.srcEnd)
      key = src.text
      keyBytes = src.bytes
    }
    const tail = recordTail(keyBytes, b.subarray(start, end), set.encoded)
    return { topic: set.topic, key, value: tail, headers: set.headers, bytes: tail.length, tail }
  }

  // the src's text and its UTF-8 bytes (the record key)
  private srcOf(b: Buffer, s: number, e: number): { text: string; bytes: Buffer } {
    const last = this.src
    if (last && same(b, s, e, last.raw)) return last
    // escapes: JSON decodes them
    const text = hasBackslash(b, s, e) ? (JSON.parse(b.toString('utf8', s - 1, e + 1)) as string) : b.toString('utf8', s, e)
    this.src = { raw: Buffer.from(b.subarray(s, e)), text, bytes: Buffer.from(text) }
    return this.src
  }

  private headersOf(b: Buffer, f: Fields): HeaderSet {
    if (f.headersStart < 0 || b[f.headersStart] !== 0x7b) return (this.noHeaders ??= this.headerSet_(Buffer.alloc(0), undefined))
    const last = this.headerSet
    const s = f.headersStart
    const e = f.headersEnd
    if (last && same(b, s, e, last.bytes)) return last
    const parsed = JSON.parse(b.toString('utf8', s, e)) as Record<string, unknown>
    return (this.headerSet = this.headerSet_(Buffer.from(b.subarray(s, e)), stringHeaders(parsed)))
  }

  private headerSet_(bytes: Buffer, headers: Record<string, string> | undefined): HeaderSet {
    const { key, topic } = headerRules(headers, this.rules)
    return { bytes, encoded: encodeRecordHeaders(headers), key, topic, headers }
  }
}
