import { HIGH_BITS, plainWords, type ByteView } from '../../core/json-scan.js'

// Which Kafka record values collect can pass on as the bytes they are. A value that is a tsf event
// becomes JSON.stringify of the parsed event with its place added to its headers, src/seq added
// when it has no src, and its cursor dropped (records.ts, the reference). When the value is already
// exactly what JSON.stringify writes — no spaces, the escapes JSON.stringify uses and no others,
// numbers as it prints them, no key twice, no nesting but a flat headers object of strings, no
// key that JSON.parse would move (array indices) — that output is the value's bytes with a few
// splices: what `tsf ship kafka://` sends always is (events as tsf stages write them). Anything
// else is left to JSON.parse and JSON.stringify (the caller's careful path), so the bytes are the
// same either way; test/sources/kafka/record-heads.test.ts holds the two to each other.

// Where the splices go (offsets into the view's bytes), filled by scanEventValue.
export interface EventSpans {
  // the "_ack" member to leave out, with one comma next to it ([ackFrom, ackTo); -1: none)
  ackFrom: number
  ackTo: number
  // the closing brace of the event's headers object (-1: no headers member)
  headersClose: number
  headersEmpty: boolean
  hasSrc: boolean
}

export const newEventSpans = (): EventSpans => ({ ackFrom: -1, ackTo: -1, headersClose: -1, headersEmpty: false, hasSrc: false })

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const COLON = 0x3a
const OPEN = 0x7b
const CLOSE = 0x7d

const isLowerHex = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66)
const hexValue = (c: number): number => (c <= 0x39 ? c - 0x30 : c - 0x57)

// The index after the string opening at `i` when it is written as JSON.stringify writes strings
// (its bytes are valid UTF-8: the caller checked); -1 otherwise.
const stringEnd = (v: ByteView, i: number, e: number): number => {
  const b = v.u8
  const W = v.words
  const lastWord = (e >>> 2) - 1
  i++
  while (i < e) {
    if ((i & 3) === 0) {
      const w = plainWords(W, i >>> 2, lastWord, HIGH_BITS)
      if (w << 2 > i) {
        i = w << 2
        continue
      }
    }
    const c = b[i]!
    if (c === QUOTE) return i + 1
    if (c < 0x20) return -1
    if (c === BACKSLASH) {
      const x = b[i + 1]
      // \" \\ \b \f \n \r \t
      if (x === 0x22 || x === 0x5c || x === 0x62 || x === 0x66 || x === 0x6e || x === 0x72 || x === 0x74) {
        i += 2
        continue
      }
      // \u00XX, lower-case hex, for the control characters without a short escape
      if (
        x === 0x75 &&
        i + 5 < e &&
        b[i + 2] === 0x30 &&
        b[i + 3] === 0x30 &&
        (b[i + 4] === 0x30 || b[i + 4] === 0x31) &&
        isLowerHex(b[i + 5]!)
      ) {
        const code = (b[i + 4]! - 0x30) * 16 + hexValue(b[i + 5]!)
        if (code !== 0x08 && code !== 0x09 && code !== 0x0a && code !== 0x0c && code !== 0x0d) {
          i += 6
          continue
        }
      }
      return -1
    }
    i++
  }
  return -1
}

// The index after the number at `i` when JSON.stringify prints it so; -1 otherwise.
const numberEnd = (v: ByteView, i: number, e: number): number => {
  const b = v.u8
  let j = i
  while (j < e) {
    const c = b[j]!
    if ((c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2b || c === 0x2e || c === 0x65 || c === 0x45) j++
    else break
  }
  if (j === i) return -1
  // integers, the common case: no leading zero, no -0, at most 15 digits (exact as a double)
  const k = b[i] === 0x2d ? i + 1 : i
  let digits = j > k
  for (let m = k; digits && m < j; m++) digits = b[m]! >= 0x30 && b[m]! <= 0x39
  if (digits && j - k <= 15 && (b[k] !== 0x30 || (j - k === 1 && k === i))) return j
  const text = v.buf.toString('latin1', i, j)
  return String(Number(text)) === text ? j : -1
}

const literalEnd = (v: ByteView, i: number, e: number, word: Uint8Array): number => {
  if (i + word.length > e) return -1
  for (let k = 0; k < word.length; k++) if (v.u8[i + k] !== word[k]) return -1
  return i + word.length
}

const TRUE = Buffer.from('true')
const FALSE = Buffer.from('false')
const NULL = Buffer.from('null')

// a string, number, true, false or null as JSON.stringify writes it
const scalarEnd = (v: ByteView, i: number, e: number): number => {
  const c = v.u8[i]
  if (c === QUOTE) return stringEnd(v, i, e)
  if (c === 0x74) return literalEnd(v, i, e, TRUE)
  if (c === 0x66) return literalEnd(v, i, e, FALSE)
  if (c === 0x6e) return literalEnd(v, i, e, NULL)
  return numberEnd(v, i, e)
}

// the key (with its quotes) is `name`
const keyIs = (v: ByteView, start: number, end: number, name: Uint8Array): boolean => {
  if (end - start !== name.length + 2) return false
  for (let k = 0; k < name.length; k++) if (v.u8[start + 1 + k] !== name[k]) return false
  return true
}

const BODY = Buffer.from('body')
const HEADERS = Buffer.from('headers')
const SRC = Buffer.from('src')
const SEQ = Buffer.from('seq')
const ACK = Buffer.from('_ack')
const PROTO = Buffer.from('__proto__')
// header names collect sets itself (the record's place): an event that has one takes the careful path
const PLACE = ['topic', 'partition', 'offset', 'key', 'key64'].map((n) => Buffer.from(n))

// Keys seen in one object (start and end of each), to refuse a key written twice (JSON.parse keeps
// the last value): the event's, and its headers'.
const MAX_KEYS = 32
const TOP = new Int32Array(2 * MAX_KEYS)
const INNER = new Int32Array(2 * MAX_KEYS)

const sameBytes = (b: Uint8Array, a0: number, a1: number, b0: number, b1: number): boolean => {
  if (a1 - a0 !== b1 - b0) return false
  for (let k = 0; k < a1 - a0; k++) if (b[a0 + k] !== b[b0 + k]) return false
  return true
}

// A key that keeps the object's order (not an array index, which JSON.parse puts first, nor
// __proto__) and is not one of the `seen` before it; recorded as seen.
const freshKey = (v: ByteView, start: number, end: number, keys: Int32Array, seen: number): boolean => {
  const first = v.u8[start + 1]!
  if ((first >= 0x30 && first <= 0x39) || keyIs(v, start, end, PROTO) || seen === MAX_KEYS) return false
  for (let k = 0; k < 2 * seen; k += 2) if (sameBytes(v.u8, keys[k]!, keys[k + 1]!, start, end)) return false
  keys[2 * seen] = start
  keys[2 * seen + 1] = end
  return true
}

// The headers object at `i` (a flat object of strings), its closing brace into spans; returns the
// index after it or -1.
const headersEnd = (v: ByteView, i: number, e: number, spans: EventSpans): number => {
  const b = v.u8
  i++
  if (b[i] === CLOSE) {
    spans.headersClose = i
    spans.headersEmpty = true
    return i + 1
  }
  spans.headersEmpty = false
  for (let seen = 0; ; seen++) {
    if (b[i] !== QUOTE) return -1
    const keyEnd = stringEnd(v, i, e)
    if (keyEnd < 0 || b[keyEnd] !== COLON || !freshKey(v, i, keyEnd, INNER, seen)) return -1
    for (const name of PLACE) if (keyIs(v, i, keyEnd, name)) return -1
    if (b[keyEnd + 1] !== QUOTE) return -1
    const end = stringEnd(v, keyEnd + 1, e)
    if (end < 0) return -1
    if (b[end] === CLOSE) {
      spans.headersClose = end
      return end + 1
    }
    if (b[end] !== COMMA) return -1
    i = end + 1
  }
}

// True when the value v.u8[s, e) (valid UTF-8) is a tsf event whose head collect may splice from
// its bytes (see above); spans says where.
export const scanEventValue = (v: ByteView, s: number, e: number, spans: EventSpans): boolean => {
  const b = v.u8
  if (e - s < 2 || b[s] !== OPEN || b[e - 1] !== CLOSE) return false
  spans.ackFrom = spans.ackTo = spans.headersClose = -1
  spans.hasSrc = false
  let body = false
  let seq = false
  let headers = false
  let i = s + 1
  for (let n = 0; ; n++) {
    if (b[i] !== QUOTE) return false
    const keyStart = i
    const keyEnd = stringEnd(v, i, e)
    if (keyEnd < 0 || b[keyEnd] !== COLON) return false
    if (!freshKey(v, keyStart, keyEnd, TOP, n)) return false
    const at = keyEnd + 1
    const c = b[at]
    let end: number
    if (keyIs(v, keyStart, keyEnd, HEADERS)) {
      if (c !== OPEN) return false
      headers = true
      end = headersEnd(v, at, e, spans)
    } else {
      end = scalarEnd(v, at, e)
      if (keyIs(v, keyStart, keyEnd, BODY)) {
        if (c !== QUOTE) return false
        body = true
      } else if (keyIs(v, keyStart, keyEnd, SRC)) {
        if (c !== QUOTE) return false
        spans.hasSrc = true
      } else if (keyIs(v, keyStart, keyEnd, SEQ)) seq = true
      else if (keyIs(v, keyStart, keyEnd, ACK)) {
        // left out with the comma before it, or after it when it is the first member
        spans.ackFrom = n === 0 ? keyStart : keyStart - 1
        spans.ackTo = n === 0 ? end + 1 : end
      }
    }
    // (a value may not reach the event's closing brace: {"headers":{} ends there)
    if (end < 0 || end >= e) return false
    if (end === e - 1) break
    if (b[end] !== COMMA) return false
    i = end + 1
  }
  // an event with a seq but no src string gets a src and keeps its seq: the careful path
  if (!body || (seq && !spans.hasSrc)) return false
  if (!headers) spans.headersClose = -1
  return true
}
