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
  valueEnd,
  viewOf,
  type ByteView,
} from '../../core/json-scan.js'
import { NEEDS_JS, NOT_CLOSED, unescaper, WasmUnescaper } from '../../core/json-unescape-wasm.js'

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
  // the same bytes, to store a whole word at any offset in one write
  private scratchWords = new DataView(this.scratch.buffer, this.scratch.byteOffset, this.scratch.length)
  private scratchLen = NOT_UNESCAPED // or the bytes unescaped at placedBuf/placedAt; -1: a malformed escape
  // where the last read() unescaped its body: scratch at 0, or where placeBodyAt() said
  private placedBuf: Buffer = this.scratch
  private placedAt = 0
  // the place for the next read() (placeBodyAt), and a word view of it kept while it is the same
  private nextBuf?: Buffer
  private nextAt = 0
  private targetBuf?: Buffer
  private targetWords?: DataView
  // the batch loaded into the WebAssembly unescaper (source()): its heads' bodies are unescaped there
  private loaded?: Buffer
  // the head buffer of the last read() (its view is this.view): the heads of a batch share one
  private viewed?: Buffer
  private viewedAt = 0
  constructor(
    private readonly unescapeBody = true,
    private readonly wasm: WasmUnescaper | undefined = unescaper(),
  ) {}
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
  // the src equals the one keepSrc() kept (false: not known, compare with srcEquals)
  sameSrc = false

  // The heads of the next read()s lie in `lines` (a batch): copied once into the WebAssembly
  // unescaper, whose SIMD steps then unescape their bodies. undefined: done with it.
  source(lines: Buffer | undefined): void {
    const wasm = this.wasm
    this.loaded = undefined
    if (wasm && this.unescapeBody && lines) {
      // framed in its memory already (the reader's blocks are chunks of it: engine.ts), or copied there
      if (wasm.use(lines)) this.loaded = lines
      else if (lines.length <= WasmUnescaper.srcMax) {
        wasm.load(lines)
        this.loaded = lines
      }
    }
    this.viewed = undefined
  }

  // The src of the last read() is the one the next read()s compare theirs with (sameSrc), in
  // WebAssembly as they read it: one source's events follow each other, and comparing its bytes
  // in JavaScript for each was a tenth of staging. Only within the loaded batch.
  keepSrc(): void {
    const loaded = this.loaded
    if (loaded && this.viewed === loaded && this.srcStart !== -1)
      this.wasm!.sameSrcAs(this.srcStart - loaded.byteOffset, this.srcEnd - loaded.byteOffset)
  }

  // The next read() unescapes a leading body into buf at `at` instead of its own scratch (the
  // caller leaves room for the whole head there): a caller that knows where the body will go (the
  // staging chunk of the event before's bucket) then needs no second copy (placed()).
  placeBodyAt(buf: Buffer, at: number): void {
    if (buf !== this.targetBuf) {
      this.targetBuf = buf
      this.targetWords = new DataView(buf.buffer, buf.byteOffset, buf.length)
    }
    this.nextBuf = buf
    this.nextAt = at
  }

  // The bytes of the body the last read() unescaped where placeBodyAt() said, or -1 (not there:
  // another place was not given, body64, a malformed escape, the body was not first).
  placed(): number {
    return this.placedBuf !== this.scratch && this.body64Start === -1 && this.scratchLen >= 0 ? this.scratchLen : -1
  }

  // Moves a placed body into scratch: the caller is about to write over the place.
  detach(): void {
    if (this.placedBuf === this.scratch || this.scratchLen < 0) return
    if (this.scratch.length < this.scratchLen) this.growScratch(this.scratchLen)
    this.placedBuf.copy(this.scratch, 0, this.placedAt, this.placedAt + this.scratchLen)
    this.placedBuf = this.scratch
    this.placedAt = 0
  }

  private growScratch(n: number): void {
    this.scratch = Buffer.allocUnsafeSlow(Math.max(n, this.scratch.length * 2))
    this.scratchWords = new DataView(this.scratch.buffer, this.scratch.byteOffset, this.scratch.length)
  }

  // Reads the head buf[start, end). False when it is not a JSON object with a string "body" (the
  // caller writes such a line as plain text).
  read(head: Buffer, start = 0, end = head.length): boolean {
    // the heads of a batch share their buffer: its view and place are looked up once (.buffer and
    // .byteOffset are calls into V8: three per event were a third of this function)
    if (head !== this.viewed) {
      this.view = viewOf(head)
      this.viewed = head
      this.viewedAt = head.byteOffset
    }
    const v = this.view
    const base = this.viewedAt
    this.bodyStart = this.body64Start = this.hostStart = this.srcStart = this.headersStart = -1
    this.ts = this.seq = NaN
    this.cont = false
    this.sameSrc = false
    const into = this.nextBuf
    this.nextBuf = undefined
    const b = v.u8
    const f = this.field
    let i = base + start
    const n = base + end
    while (i < n && (b[i] === 0x20 || b[i] === 0x09 || b[i] === 0x0d || b[i] === 0x0a)) i++
    if (i >= n || b[i] !== 0x7b) return false
    i++
    this.scratchLen = NOT_UNESCAPED
    let first = true
    if (this.unescapeBody && n - i > BODY_FIRST.length && bytesAre(v, i, i + BODY_FIRST.length, BODY_FIRST)) {
      // the body first, as every tsf event has it: found and unescaped in one pass
      if (into) {
        this.placedBuf = into
        this.placedAt = this.nextAt
      } else {
        if (this.scratch.length < n - i) this.growScratch(n - i)
        this.placedBuf = this.scratch
        this.placedAt = 0
      }
      const open = i + BODY_FIRST.length - 1
      let close = NEEDS_JS
      let written = 0
      let after = -1 // where the members WebAssembly read end
      if (head === this.loaded) {
        // in WebAssembly, from the batch's copy in its memory (offsets relative to the batch)
        const w = this.wasm!
        const rel = into ? w.unescape(open + 1 - base, n - base, into, this.nextAt) : w.unescape(open + 1 - base, n - base, this.scratch, 0)
        if (rel >= 0) {
          close = rel + base
          written = w.written
          // the plain members after it, read there too (the rest, if any, below)
          const shift = base - w.at
          const m = w.members
          after = m[0]! + shift
          if (m[1]! >= 0) {
            this.srcStart = m[1]! + shift
            this.srcEnd = m[2]! + shift
            this.sameSrc = m[11] === 1
          }
          if (m[3]! >= 0) {
            this.hostStart = m[3]! + shift
            this.hostEnd = m[4]! + shift
          }
          if (m[9]! >= 0) {
            this.headersStart = m[9]! + shift
            this.headersEnd = m[10]! + shift
          }
          this.ts = w.numbers[0]!
          this.seq = w.numbers[1]!
        } else if (rel === NOT_CLOSED) close = -1
      }
      if (close === NEEDS_JS) {
        close = into
          ? unescapeString(v, open, n, into, this.targetWords!, this.nextAt)
          : unescapeString(v, open, n, this.scratch, this.scratchWords, 0)
        written = lastString.written
      }
      if (close === -1) return false
      this.bodyStart = open + 1
      this.bodyEnd = close
      this.scratchLen = written
      i = this.compactMembers(after === -1 ? close + 1 : after, n)
      if (i === FIELDS_BAD) return false
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

  // The members after the body as tsf writes them (compact: `,"key":value`, no spaces, keys
  // without escapes), each read inline by its first byte: strings and integers by a plain loop,
  // only objects, arrays and other numbers through the general scanner. Returns where it stopped:
  // the end, or the first place that is not in that form (the general walk goes on from there),
  // or FIELDS_BAD. Costs about a third of the general walk on a W1 event (six members).
  private compactMembers(i: number, n: number): number {
    const v = this.view
    const b = v.u8
    while (i + 1 < n && b[i] === 0x2c && b[i + 1] === 0x22) {
      const keyStart = i + 2
      let k = keyStart
      while (k < n && b[k] !== 0x22 && b[k] !== 0x5c) k++
      if (k + 1 >= n || b[k] !== 0x22 || b[k + 1] !== 0x3a) return i
      const start = k + 2
      const c = b[start]
      let end = start + 1
      let escaped = false
      if (c === 0x22) {
        for (;;) {
          if (end >= n) return FIELDS_BAD
          const d = b[end]
          if (d === 0x22) break
          if (d === 0x5c) {
            escaped = true
            end++
          }
          end++
        }
        end++
      } else if (c === 0x7b) {
        // an object (headers): brackets counted, strings skipped by the same plain loop; no
        // recursion, whatever the depth
        let depth = 1
        while (depth > 0) {
          if (end >= n) return FIELDS_BAD
          const d = b[end++]
          if (d === 0x22) {
            for (;;) {
              if (end >= n) return FIELDS_BAD
              const e = b[end++]
              if (e === 0x22) break
              if (e === 0x5c) end++
            }
          } else if (d === 0x7b || d === 0x5b) depth++
          else if (d === 0x7d || d === 0x5d) depth--
        }
      } else {
        if (c !== undefined && c >= 0x30 && c <= 0x39) while (end < n && b[end]! >= 0x30 && b[end]! <= 0x39) end++
        // anything but a plain integer followed by a comma or the end: the general scanner
        if (c === undefined || c < 0x30 || c > 0x39 || (end < n && b[end] !== 0x2c)) end = valueEnd(v, start, n)
        if (end === -1) return FIELDS_BAD
      }
      this.take(keyStart, k, start, end, escaped)
      i = end
    }
    return i
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
          this.sameSrc = false
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
    if (this.scratchLen !== NOT_UNESCAPED)
      return this.scratchLen < 0 ? -1 : this.placedBuf.copy(out, at, this.placedAt, this.placedAt + this.scratchLen)
    if (!this.bodyEscaped) return v.buf.copy(out, at, this.bodyStart, this.bodyEnd)
    return unescapeInto(v, this.bodyStart, this.bodyEnd, out, at)
  }

  // The body's JSON text as it is in the head (for a body whose escapes are malformed).
  rawBody(): Buffer {
    return this.view.buf.subarray(this.bodyStart, this.bodyEnd)
  }
}
