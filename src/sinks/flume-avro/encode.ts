import type { EventHead } from '../../core/event.js'
import { writeLong } from '../../flume-avro/avro.js'
import { HEADER_PREFIX } from '../../flume-avro/tsf-headers.js'

// Event heads (JSON text without the closing brace) → appendBatch parameters, array<AvroFlumeEvent>.
// A byte scanner walks each head once and copies string bytes straight into the output: no
// JSON.parse, no event object, no per-event buffer (string heads are written into one reused
// scratch buffer). Only strings holding escapes and body64 take a slower exact path.
//
//   body / body64  → body bytes (body64 wins: it holds the exact bytes)
//   ts             → header timestamp (epoch ms, what Flume's timestamp interceptor sets)
//   host           → header host
//   headers        → headers
//   src, seq, pos, cont, truncated, any other field → header tsf.<name> (src as text, others as JSON)

const Q = 0x22 // "
const BS = 0x5c // \

// spans found in one head, as offsets into the scanned bytes
interface Scan {
  bodyStart: number
  bodyEnd: number
  bodyEscaped: boolean
  body64Start: number
  body64End: number
  // headers as flat [keyStart, keyEnd, keyFlags, valStart, valEnd, valFlags, ...]; flags: 1 escaped, 2 raw JSON
  headers: number[]
  // header names that come from fields, to skip the same names in "headers"
  hasTimestamp: boolean
  hasHost: boolean
}

const TIMESTAMP = Buffer.from('timestamp')
const HOST = Buffer.from('host')

export class FlumeBatchEncoder {
  private out = Buffer.allocUnsafe(64 * 1024)
  private at = 0
  private scratch = Buffer.allocUnsafe(16 * 1024)
  private readonly scan: Scan = {
    bodyStart: -1,
    bodyEnd: -1,
    bodyEscaped: false,
    body64Start: -1,
    body64End: -1,
    headers: [],
    hasTimestamp: false,
    hasHost: false,
  }
  // extra header names made on the fly (TIMESTAMP, HOST and tsf.<name>), kept as [bytes]
  private readonly names: Buffer[] = []

  // heads → the appendBatch parameters (one buffer, the only allocation per batch)
  encode(heads: readonly EventHead[]): Buffer {
    this.at = 0
    if (heads.length) {
      this.long(heads.length)
      for (const head of heads) this.event(head)
    }
    this.ensure(1)
    this.out[this.at++] = 0
    return Buffer.from(this.out.subarray(0, this.at))
  }

  private event(head: EventHead): void {
    let src: Buffer
    let len: number
    if (typeof head === 'string') {
      if (this.scratch.length < head.length * 3) this.scratch = Buffer.allocUnsafe(Math.max(head.length * 3, this.scratch.length * 2))
      len = this.scratch.write(head, 0)
      src = this.scratch
    } else {
      src = head
      len = head.length
    }
    const s = this.scan
    s.bodyStart = s.bodyEnd = s.body64Start = s.body64End = -1
    s.bodyEscaped = s.hasTimestamp = s.hasHost = false
    s.headers.length = 0
    this.names.length = 0
    scanHead(src, len, s, this.names)
    // headers map: one block of all entries, then the end block
    const h = s.headers
    const count = h.length / 6
    if (count) {
      this.long(count)
      for (let i = 0; i < h.length; i += 6) {
        this.text(src, h[i]!, h[i + 1]!, h[i + 2]!)
        this.text(src, h[i + 3]!, h[i + 4]!, h[i + 5]!)
      }
    }
    this.ensure(1)
    this.out[this.at++] = 0
    if (s.body64Start >= 0) {
      const bytes = Buffer.from(src.toString('latin1', s.body64Start, s.body64End), 'base64')
      this.bytes(bytes, 0, bytes.length)
    } else if (s.bodyStart >= 0) this.text(src, s.bodyStart, s.bodyEnd, s.bodyEscaped ? 1 : 0)
    else this.long(0)
  }

  // a string span: raw bytes, or (escaped) the JSON string's value, or a name made on the fly
  private text(src: Buffer, start: number, end: number, flags: number): void {
    if (flags & 4) {
      const name = this.names[start]!
      return this.bytes(name, 0, name.length)
    }
    if (flags & 1) {
      const value = Buffer.from(unescape(src, start, end), 'utf8')
      return this.bytes(value, 0, value.length)
    }
    this.bytes(src, start, end)
  }

  private bytes(src: Buffer, start: number, end: number): void {
    const n = end - start
    this.ensure(n + 10)
    const out = this.out
    let at = writeLong(out, this.at, n)
    // short strings (header names and values) copy faster in a loop than through a native call
    if (n < 48) for (let i = start; i < end; i++) out[at++] = src[i]!
    else at += src.copy(out, at, start, end)
    this.at = at
  }

  private long(n: number): void {
    this.ensure(10)
    this.at = writeLong(this.out, this.at, n)
  }

  private ensure(n: number): void {
    if (this.at + n <= this.out.length) return
    const bigger = Buffer.allocUnsafe(Math.max(this.out.length * 2, this.at + n))
    this.out.copy(bigger, 0, 0, this.at)
    this.out = bigger
  }
}

// a JSON string's value; a broken escape (never from tsf, maybe from a hand-written line) keeps the text as is
const unescape = (b: Buffer, start: number, end: number): string => {
  const text = b.toString('utf8', start, end)
  try {
    return JSON.parse(`"${text}"`) as string
  } catch {
    return text
  }
}

const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d

// Walks `{"k":v,...` (no closing brace needed) and fills scan. Unknown shapes never throw: a head
// that is not an object becomes the body of an event, as everywhere in tsf.
const scanHead = (b: Buffer, len: number, s: Scan, names: Buffer[]): void => {
  let i = skipSpace(b, 0, len)
  if (b[i] !== 0x7b) {
    s.bodyStart = 0
    s.bodyEnd = len
    return
  }
  i++
  for (;;) {
    i = nextMember(b, i, len)
    if (i < 0) return
    const { keyStart, keyEnd, keyEscaped, valStart, valEnd, isString, valEscaped } = member
    const key = keyEscaped ? Key.other : keyOf(b, keyStart, keyEnd)
    if (isString && key === Key.body) {
      s.bodyStart = valStart + 1
      s.bodyEnd = valEnd
      s.bodyEscaped = valEscaped
    } else if (isString && key === Key.body64) {
      s.body64Start = valStart + 1
      s.body64End = valEnd
    } else if (key === Key.ts && !isString) {
      pushName(s, names, TIMESTAMP, valStart, valEnd, 0)
      s.hasTimestamp = true
    } else if (key === Key.host && isString) {
      pushName(s, names, HOST, valStart + 1, valEnd, valEscaped ? 1 : 0)
      s.hasHost = true
    } else if (key === Key.headers && b[valStart] === 0x7b) {
      scanHeaders(b, valStart + 1, valEnd, s)
    } else if (key === Key.ack) {
      // the link's cursor never travels
    } else {
      // src (as text) and every other field as its JSON text, under tsf.<name>
      const name = fieldHeaderName(b, keyStart, keyEnd, keyEscaped)
      if (isString && key === Key.src) pushName(s, names, name, valStart + 1, valEnd, valEscaped ? 1 : 0)
      else pushName(s, names, name, valStart, isString ? valEnd + 1 : valEnd, 0)
    }
  }
}

// The names of the fields we act on, recognised from their bytes (no string made per key).
const enum Key {
  other,
  body,
  body64,
  ts,
  host,
  headers,
  ack,
  src,
}
const at = (b: Buffer, i: number, text: string): boolean => {
  for (let k = 0; k < text.length; k++) if (b[i + k] !== text.charCodeAt(k)) return false
  return true
}
const keyOf = (b: Buffer, start: number, end: number): Key => {
  switch (end - start) {
    case 2:
      return b[start] === 0x74 && b[start + 1] === 0x73 ? Key.ts : Key.other
    case 3:
      return at(b, start, 'src') ? Key.src : Key.other
    case 4:
      return at(b, start, 'body') ? Key.body : at(b, start, 'host') ? Key.host : at(b, start, '_ack') ? Key.ack : Key.other
    case 6:
      return at(b, start, 'body64') ? Key.body64 : Key.other
    case 7:
      return at(b, start, 'headers') ? Key.headers : Key.other
    default:
      return Key.other
  }
}

// tsf.<name> header names, made once per field name; the usual ones without even a lookup
const TSF_SRC = Buffer.from(`${HEADER_PREFIX}src`)
const TSF_SEQ = Buffer.from(`${HEADER_PREFIX}seq`)
const TSF_POS = Buffer.from(`${HEADER_PREFIX}pos`)
const fieldNames = new Map<string, Buffer>()
const fieldHeaderName = (b: Buffer, start: number, end: number, escaped: boolean): Buffer => {
  if (!escaped && end - start === 3) {
    if (at(b, start, 'seq')) return TSF_SEQ
    if (at(b, start, 'pos')) return TSF_POS
    if (at(b, start, 'src')) return TSF_SRC
  }
  const key = escaped ? unescape(b, start, end) : b.toString('utf8', start, end)
  let name = fieldNames.get(key)
  if (!name) {
    if (fieldNames.size > 1000) fieldNames.clear() // events with ever new field names: stay bounded
    name = Buffer.from(HEADER_PREFIX + key, 'utf8')
    fieldNames.set(key, name)
  }
  return name
}

const pushName = (s: Scan, names: Buffer[], name: Buffer, valStart: number, valEnd: number, valFlags: number): void => {
  names.push(name)
  s.headers.push(names.length - 1, 0, 4, valStart, valEnd, valFlags)
}

// "headers":{"k":"v",...}: string values as they are, others as their JSON text; names that a
// field already set (timestamp from ts, host from host) are left out
const scanHeaders = (b: Buffer, from: number, to: number, s: Scan): void => {
  let i = from
  for (;;) {
    i = nextMember(b, i, to)
    if (i < 0) return
    const { keyStart, keyEnd, keyEscaped, valStart, valEnd, isString, valEscaped } = member
    const dup = (s.hasTimestamp && equalsAt(b, keyStart, keyEnd, TIMESTAMP)) || (s.hasHost && equalsAt(b, keyStart, keyEnd, HOST))
    if (!dup) s.headers.push(keyStart, keyEnd, keyEscaped ? 1 : 0, isString ? valStart + 1 : valStart, valEnd, valEscaped ? 1 : 0)
  }
}

// The member nextMember found: its key's content [keyStart, keyEnd), its value from valStart (the
// opening quote of a string) to valEnd (a string's closing quote, else the value's end). One
// record for the whole walk: no object per member.
const member = { keyStart: 0, keyEnd: 0, keyEscaped: false, valStart: 0, valEnd: 0, isString: false, valEscaped: false }

// The next member of a `{"k":v,...` walk at i (after spaces and commas) into `member`; the offset
// after its value, or -1 at the closing brace, the end, or a shape not understood.
const nextMember = (b: Buffer, i: number, len: number): number => {
  for (;;) {
    i = skipSpace(b, i, len)
    if (i >= len || b[i] === 0x7d) return -1
    if (b[i] !== 0x2c) break
    i++
  }
  if (b[i] !== Q) return -1
  const keyStart = i + 1
  const keyEnd = stringEnd(b, keyStart, len)
  member.keyEscaped = escaped
  i = skipSpace(b, keyEnd + 1, len)
  if (b[i] !== 0x3a) return -1
  i = skipSpace(b, i + 1, len)
  const isString = b[i] === Q
  const valEnd = isString ? stringEnd(b, i + 1, len) : valueEnd(b, i, len)
  member.keyStart = keyStart
  member.keyEnd = keyEnd
  member.valStart = i
  member.valEnd = valEnd
  member.isString = isString
  member.valEscaped = isString && escaped
  return isString ? valEnd + 1 : valEnd
}

const equalsAt = (b: Buffer, start: number, end: number, name: Buffer): boolean => {
  if (end - start !== name.length) return false
  for (let k = 0; k < name.length; k++) if (b[start + k] !== name[k]) return false
  return true
}

const skipSpace = (b: Buffer, i: number, len: number): number => {
  while (i < len && isSpace(b[i]!)) i++
  return i
}

// index of the closing quote of a string whose content starts at i; escaped tells whether it held
// a backslash. A plain loop: for strings this short it beats a native indexOf call per string.
let escaped = false
const stringEnd = (b: Buffer, i: number, len: number): number => {
  escaped = false
  for (; i < len; i++) {
    const c = b[i]
    if (c === Q) return i
    if (c === BS) {
      escaped = true
      i++
    }
  }
  return len
}

// end of a number, literal, object or array starting at i (strings inside skipped)
const valueEnd = (b: Buffer, start: number, len: number): number => {
  let i = start
  let depth = 0
  while (i < len) {
    const c = b[i]!
    if (c === Q) {
      i = Math.min(len, stringEnd(b, i + 1, len) + 1) // an unclosed string ends the value at len
      continue
    }
    if (c === 0x7b || c === 0x5b) depth++
    else if (c === 0x7d || c === 0x5d) {
      if (depth === 0) break
      depth--
      if (depth === 0) return i + 1
    } else if (c === 0x2c && depth === 0) break
    i++
  }
  while (i > start && isSpace(b[i - 1]!)) i--
  return i
}
