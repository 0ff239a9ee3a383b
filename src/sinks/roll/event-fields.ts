import {
  bytesAre,
  FIELDS_BAD,
  FIELDS_END,
  isSpace,
  lastString,
  newFieldSpan,
  nextField,
  readNumber,
  readString,
  unescapeInto,
  unescapeString,
  viewOf,
  type ByteView,
} from '../../core/json-scan.js'

// Reads the few fields roll needs from an event head (event JSON without its closing brace)
// without JSON.parse, with core's byte scanner (src/core/json-scan.ts): one pass over the top
// level that records where each value is, and skips the rest by structure. No per-event objects:
// one EventFields is reused for every event. Only values roll uses are decoded: body bytes are
// copied as they are unless they hold a backslash, src is a string only when it changed since the
// last event, headers only when the layout names them.
//
// Offsets are absolute in `view` (the head's whole ArrayBuffer), not relative to the head.

// Known top-level keys, as bytes, to compare without making strings.
const KEY_BODY = Buffer.from('body')
const KEY_BODY64 = Buffer.from('body64')
const KEY_TS = Buffer.from('ts')
const KEY_HOST = Buffer.from('host')
const KEY_HEADERS = Buffer.from('headers')
const KEY_SRC = Buffer.from('src')
const KEY_SEQ = Buffer.from('seq')
const KEY_CONT = Buffer.from('cont')
// how every tsf event starts, after its "{"
const BODY_FIRST = Buffer.from('"body":"')

const NOT_UNESCAPED = -2 // scratchLen: the body is not in the scratch buffer

export class EventFields {
  view: ByteView = viewOf(Buffer.alloc(0))
  private readonly field = newFieldSpan()
  // with unescapeBody, a first body is unescaped here while it is found (one pass over its bytes)
  private scratch = Buffer.allocUnsafeSlow(64 * 1024)
  private scratchLen = NOT_UNESCAPED // or the bytes in scratch; -1: a malformed escape
  constructor(private readonly unescapeBody = true) {}
  // string contents (inside the quotes), -1 when absent or not a string
  bodyStart = -1
  bodyEnd = -1
  bodyEscaped = false
  body64Start = -1
  body64End = -1
  hostStart = -1
  hostEnd = -1
  srcStart = -1
  srcEnd = -1
  // the whole headers value (an object, or anything else: then no header is found)
  headersStart = -1
  headersEnd = -1
  ts = NaN
  seq = NaN
  cont = false

  // Reads a head. False when it is not a JSON object with a string "body" (the caller writes such a
  // line as plain text).
  read(head: Buffer): boolean {
    const v = (this.view = viewOf(head))
    this.bodyStart = this.body64Start = this.hostStart = this.srcStart = this.headersStart = -1
    this.ts = this.seq = NaN
    this.cont = false
    const b = v.u8
    const f = this.field
    let i = head.byteOffset
    const n = i + head.length
    while (i < n && (b[i] === 0x20 || b[i] === 0x09 || b[i] === 0x0d || b[i] === 0x0a)) i++
    if (i >= n || b[i] !== 0x7b) return false
    i++
    this.scratchLen = NOT_UNESCAPED
    let first = true
    if (this.unescapeBody && n - i > BODY_FIRST.length && bytesAre(v, i, i + BODY_FIRST.length, BODY_FIRST)) {
      // the body first, as every tsf event has it: found and unescaped in one pass
      if (this.scratch.length < n - i) this.scratch = Buffer.allocUnsafeSlow(Math.max(n - i, this.scratch.length * 2))
      const open = i + BODY_FIRST.length - 1
      const close = unescapeString(v, open, n, this.scratch, 0)
      if (close === -1) return false
      this.bodyStart = open + 1
      this.bodyEnd = close
      this.scratchLen = lastString.written
      i = close + 1
      while (i < n && isSpace(b[i])) i++
      if (i >= n) return true
      if (b[i] !== 0x2c) return false
      i++
      first = false
    }
    for (; i >= 0; first = false) {
      i = nextField(v, i, n, f, first)
      if (i === FIELDS_BAD) return false
      if (i === FIELDS_END) break
      this.take(f.keyStart, f.keyEnd, f.start, f.end, f.escaped)
    }
    return this.bodyStart !== -1
  }

  private take(keyStart: number, keyEnd: number, start: number, end: number, escaped: boolean): void {
    const v = this.view
    const isString = v.u8[start] === 0x22
    switch (keyEnd - keyStart) {
      case 2:
        if (bytesAre(v, keyStart, keyEnd, KEY_TS)) this.ts = readNumber(v, start, end)
        return
      case 3:
        if (bytesAre(v, keyStart, keyEnd, KEY_SRC)) {
          this.srcStart = isString ? start + 1 : -1
          this.srcEnd = end - 1
        } else if (bytesAre(v, keyStart, keyEnd, KEY_SEQ)) this.seq = readNumber(v, start, end)
        return
      case 4:
        if (bytesAre(v, keyStart, keyEnd, KEY_BODY)) {
          this.bodyStart = isString ? start + 1 : -1
          this.bodyEnd = end - 1
          this.bodyEscaped = escaped
          this.scratchLen = NOT_UNESCAPED
        } else if (bytesAre(v, keyStart, keyEnd, KEY_HOST)) {
          this.hostStart = isString ? start + 1 : -1
          this.hostEnd = end - 1
        } else if (bytesAre(v, keyStart, keyEnd, KEY_CONT)) this.cont = end - start === 4 && v.u8[start] === 0x74 // true
        return
      case 6:
        if (bytesAre(v, keyStart, keyEnd, KEY_BODY64)) {
          this.body64Start = isString ? start + 1 : -1
          this.body64End = end - 1
        }
        return
      case 7:
        if (bytesAre(v, keyStart, keyEnd, KEY_HEADERS)) {
          this.headersStart = start
          this.headersEnd = end
        }
        return
      default:
      // a key with an escape in it, or one roll does not use: skipped (JSON.parse would take the
      // last of duplicate keys too)
    }
  }

  // The event's src, when it is a string (escapes decoded).
  src(): string | undefined {
    if (this.srcStart === -1) return undefined
    return readString(this.view, this.srcStart - 1, this.srcEnd)
  }

  // The src bytes (a view, valid while the head is).
  srcBytes(): Buffer {
    return this.view.buf.subarray(this.srcStart, this.srcEnd)
  }

  // True when the src bytes equal `bytes` (to reuse the previous event's string).
  srcEquals(bytes: Uint8Array): boolean {
    return this.srcStart !== -1 && bytesAre(this.view, this.srcStart, this.srcEnd, bytes)
  }

  host(): string | undefined {
    if (this.hostStart === -1) return undefined
    return readString(this.view, this.hostStart - 1, this.hostEnd)
  }

  // The value of one header: a string as it is; anything else (a number, an object, nested 20,000
  // deep) as its JSON text, so that a path can use it and nothing is rejected for its type.
  header(name: string): string | undefined {
    const v = this.view
    const b = v.u8
    if (this.headersStart === -1 || b[this.headersStart] !== 0x7b) return undefined
    // the members between the braces (nextField stops at the closing one)
    const limit = this.headersEnd - 1
    const f = this.field
    let found: string | undefined
    for (let i = this.headersStart + 1, first = true; i >= 0; first = false) {
      i = nextField(v, i, limit, f, first)
      if (i === FIELDS_BAD || i === FIELDS_END) break
      if (readString(v, f.keyStart - 1, f.keyEnd) === name)
        found = b[f.start] === 0x22 ? readString(v, f.start, f.end - 1) : v.buf.toString('utf8', f.start, f.end)
    }
    return found
  }

  // The longest the body can be once written (unescaping and base64 only shrink).
  bodyBound(): number {
    return this.body64Start !== -1 ? this.body64End - this.body64Start : this.bodyEnd - this.bodyStart
  }

  // Writes the original body bytes into out at `at`: body64 when present (exact non-UTF-8
  // bytes), else the body, unescaped only when it holds a backslash. Returns the bytes written,
  // or -1 when an escape is malformed.
  writeBody(out: Buffer, at: number): number {
    const v = this.view
    if (this.body64Start !== -1) return out.write(v.buf.toString('latin1', this.body64Start, this.body64End), at, 'base64')
    if (this.scratchLen !== NOT_UNESCAPED) return this.scratchLen < 0 ? -1 : this.scratch.copy(out, at, 0, this.scratchLen)
    if (!this.bodyEscaped) return v.buf.copy(out, at, this.bodyStart, this.bodyEnd)
    return unescapeInto(v, this.bodyStart, this.bodyEnd, out, at)
  }

  // The body's JSON text as it is in the head (for a body whose escapes are malformed).
  rawBody(): Buffer {
    return this.view.buf.subarray(this.bodyStart, this.bodyEnd)
  }
}
