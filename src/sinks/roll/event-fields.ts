// Reads the few fields roll needs from an event head (event JSON without its closing brace)
// without JSON.parse: one pass over the top level that records where each value is, and skips the
// rest by structure. No per-event objects: one EventFields is reused for every event. Nesting is
// skipped with a counter, never by recursion, so a value nested 20,000 deep costs a loop, not the
// stack. Only values roll uses are decoded: body bytes are copied as they are unless they hold a
// backslash, src is a string only when it changed since the last event, headers only when the
// layout names them.

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const COLON = 0x3a

const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a

// Known top-level keys, as bytes, to compare without making strings.
const KEY_BODY = Buffer.from('body')
const KEY_BODY64 = Buffer.from('body64')
const KEY_TS = Buffer.from('ts')
const KEY_HOST = Buffer.from('host')
const KEY_HEADERS = Buffer.from('headers')
const KEY_SRC = Buffer.from('src')
const KEY_SEQ = Buffer.from('seq')
const KEY_CONT = Buffer.from('cont')

const sameBytes = (buf: Buffer, start: number, end: number, key: Buffer): boolean => {
  if (end - start !== key.length) return false
  for (let i = 0; i < key.length; i++) if (buf[start + i] !== key[i]) return false
  return true
}

// The end of a JSON string whose opening quote is at `at` (the index of its closing quote), or -1.
// A plain loop: strings here are short or escaped often, where native indexOf calls cost more.
export const stringEnd = (buf: Buffer, at: number, limit: number): number => {
  for (let i = at + 1; i < limit; i++) {
    const b = buf[i]
    if (b === QUOTE) return i
    if (b === BACKSLASH) i++
  }
  return -1
}

// The end (exclusive) of the JSON value starting at `at`, or -1 when it is not one.
export const valueEnd = (buf: Buffer, at: number, limit: number): number => {
  const c = buf[at]
  if (c === QUOTE) {
    const q = stringEnd(buf, at, limit)
    return q === -1 ? -1 : q + 1
  }
  if (c === 0x7b || c === 0x5b) {
    // an object or array: count brackets, strings skipped whole; iterative whatever the depth
    let depth = 0
    for (let i = at; i < limit; i++) {
      const b = buf[i]
      if (b === QUOTE) {
        i = stringEnd(buf, i, limit)
        if (i === -1) return -1
      } else if (b === 0x7b || b === 0x5b) depth++
      else if (b === 0x7d || b === 0x5d) {
        if (--depth === 0) return i + 1
      }
    }
    return -1
  }
  // a number, true, false or null
  let i = at
  while (i < limit) {
    const b = buf[i]!
    if (b === COMMA || b === 0x7d || b === 0x5d || isSpace(b)) break
    if (!((b >= 0x30 && b <= 0x39) || (b >= 0x61 && b <= 0x7a) || b === 0x2d || b === 0x2b || b === 0x2e || b === 0x45)) return -1
    i++
  }
  return i > at ? i : -1
}

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/

// A JSON number between start and end; NaN when it is not one.
const readNumber = (buf: Buffer, start: number, end: number): number => {
  let n = 0
  let i = start
  if (end - start <= 15) {
    for (; i < end; i++) {
      const d = buf[i]! - 0x30
      if (d < 0 || d > 9) break
      n = n * 10 + d
    }
    if (i === end && (buf[start] !== 0x30 || end - start === 1)) return n
  }
  const text = buf.toString('latin1', start, end)
  return NUMBER.test(text) ? Number(text) : NaN
}

// A JSON string's value (start/end: the quotes).
const readString = (buf: Buffer, start: number, end: number): string | undefined => {
  const bs = buf.indexOf(BACKSLASH, start + 1)
  if (bs === -1 || bs >= end) return buf.toString('utf8', start + 1, end)
  try {
    return JSON.parse(buf.toString('utf8', start, end + 1)) as string
  } catch {
    return undefined
  }
}

// The byte each one-letter escape stands for (\" \\ \/ \b \f \n \r \t); -1: not one. A typed table,
// not an object: a lookup per escape on the hot path.
const SIMPLE_ESCAPES = new Int16Array(256).fill(-1)
for (const [e, b] of [[0x22, 0x22], [0x5c, 0x5c], [0x2f, 0x2f], [0x62, 0x08], [0x66, 0x0c], [0x6e, 0x0a], [0x72, 0x0d], [0x74, 0x09]] as const) SIMPLE_ESCAPES[e] = b

// Writes the bytes of the JSON string content buf[start, end) (between the quotes) into out at
// `at`, unescaped; returns the number of bytes written (never more than end - start), or -1 when
// an escape is malformed. \uXXXX takes the exact path (JSON.parse, then UTF-8).
export const unescapeInto = (buf: Buffer, start: number, end: number, out: Buffer, at: number): number => {
  let from = start
  let to = at
  for (;;) {
    const bs = buf.indexOf(BACKSLASH, from)
    if (bs === -1 || bs >= end) {
      to += buf.copy(out, to, from, end)
      return to - at
    }
    to += buf.copy(out, to, from, bs)
    const e = buf[bs + 1]!
    if (bs + 1 >= end) return -1
    if (e === 0x75 /* u */) {
      // the rest, exactly: JSON.parse knows surrogate pairs and lone surrogates
      let text: string
      try {
        text = JSON.parse(`"${buf.toString('utf8', bs, end)}"`) as string
      } catch {
        return -1
      }
      to += out.write(text, to, 'utf8')
      return to - at
    }
    const byte = SIMPLE_ESCAPES[e]!
    if (byte < 0) return -1
    out[to++] = byte
    from = bs + 2
  }
}

export class EventFields {
  // the body unescaped while it is read (only for --format body)
  private scratch = Buffer.allocUnsafeSlow(64 * 1024)
  private scratchLen = -1 // -1: malformed escape
  constructor(private readonly unescapeBody = true) {}

  buf: Buffer = Buffer.alloc(0)
  // string contents (inside the quotes), -1 when absent or not a string
  bodyStart = -1
  bodyEnd = -1
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

  // Finds the end of the body string at `at` and unescapes it into the scratch buffer in the same
  // loop (one pass over the bytes, the common escapes done inline, \uXXXX by JSON.parse).
  private scanBody(at: number, limit: number): number {
    const buf = this.buf
    if (this.scratch.length < limit - at) this.scratch = Buffer.allocUnsafeSlow(Math.max(limit - at, this.scratch.length * 2))
    const out = this.scratch
    let to = 0
    for (let i = at + 1; i < limit; i++) {
      const b = buf[i]!
      if (b === QUOTE) {
        this.scratchLen = to
        return i + 1
      }
      if (b !== BACKSLASH) {
        out[to++] = b
        continue
      }
      const e = buf[++i]!
      const byte = SIMPLE_ESCAPES[e]!
      if (byte >= 0) {
        out[to++] = byte
        continue
      }
      // \u or a malformed escape: the exact path for the rest of the string
      const end = stringEnd(buf, i - 2, limit)
      if (end === -1) return -1
      const n = e === 0x75 ? unescapeInto(buf, i - 1, end, out, to) : -1
      this.scratchLen = n === -1 ? -1 : to + n
      return end + 1
    }
    return -1
  }

  // Reads a head. False when it is not a JSON object with a string "body" (the caller writes such a
  // line as plain text).
  read(buf: Buffer): boolean {
    this.buf = buf
    this.bodyStart = this.body64Start = this.hostStart = this.srcStart = this.headersStart = -1
    this.ts = this.seq = NaN
    this.cont = false
    const n = buf.length
    let i = 0
    while (i < n && isSpace(buf[i]!)) i++
    if (buf[i] !== 0x7b) return false
    i++
    for (let first = true; ; first = false) {
      while (i < n && isSpace(buf[i]!)) i++
      if (i >= n) {
        if (first) break // "{}"
        return false // "{...,}"
      }
      if (buf[i] !== QUOTE) return false
      const keyEnd = stringEnd(buf, i, n)
      if (keyEnd === -1) return false
      const keyStart = i + 1
      i = keyEnd + 1
      while (i < n && isSpace(buf[i]!)) i++
      if (buf[i] !== COLON) return false
      i++
      while (i < n && isSpace(buf[i]!)) i++
      const start = i
      const end = this.unescapeBody && buf[start] === QUOTE && sameBytes(buf, keyStart, keyEnd, KEY_BODY) ? this.scanBody(start, n) : valueEnd(buf, start, n)
      if (end === -1) return false
      this.take(keyStart, keyEnd, start, end)
      i = end
      while (i < n && isSpace(buf[i]!)) i++
      if (i >= n) break
      if (buf[i] !== COMMA) return false
      i++
    }
    return this.bodyStart !== -1
  }

  private take(keyStart: number, keyEnd: number, start: number, end: number): void {
    const buf = this.buf
    const isString = buf[start] === QUOTE
    switch (keyEnd - keyStart) {
      case 2:
        if (sameBytes(buf, keyStart, keyEnd, KEY_TS)) this.ts = readNumber(buf, start, end)
        return
      case 3:
        if (sameBytes(buf, keyStart, keyEnd, KEY_SRC)) {
          this.srcStart = isString ? start + 1 : -1
          this.srcEnd = end - 1
        } else if (sameBytes(buf, keyStart, keyEnd, KEY_SEQ)) this.seq = readNumber(buf, start, end)
        return
      case 4:
        if (sameBytes(buf, keyStart, keyEnd, KEY_BODY)) {
          this.bodyStart = isString ? start + 1 : -1
          this.bodyEnd = end - 1
        } else if (sameBytes(buf, keyStart, keyEnd, KEY_HOST)) {
          this.hostStart = isString ? start + 1 : -1
          this.hostEnd = end - 1
        } else if (sameBytes(buf, keyStart, keyEnd, KEY_CONT)) this.cont = end - start === 4 && buf[start] === 0x74 // true
        return
      case 6:
        if (sameBytes(buf, keyStart, keyEnd, KEY_BODY64)) {
          this.body64Start = isString ? start + 1 : -1
          this.body64End = end - 1
        }
        return
      case 7:
        if (sameBytes(buf, keyStart, keyEnd, KEY_HEADERS)) {
          this.headersStart = start
          this.headersEnd = end
        }
        return
      default:
      // a key with an escape in it, or one roll does not use: skipped (JSON.parse would take the
      // last of duplicate keys too)
    }
  }

  // The event's src, when it is a string (the bytes between the quotes; escapes are decoded).
  src(): string | undefined {
    if (this.srcStart === -1) return undefined
    return readString(this.buf, this.srcStart - 1, this.srcEnd)
  }

  // True when the src bytes equal `bytes` (to reuse the previous event's string).
  srcEquals(bytes: Buffer): boolean {
    const len = this.srcEnd - this.srcStart
    if (this.srcStart === -1 || len !== bytes.length) return false
    const buf = this.buf
    const s = this.srcStart
    for (let i = len - 1; i >= 0; i--) if (buf[s + i] !== bytes[i]) return false
    return true
  }

  host(): string | undefined {
    if (this.hostStart === -1) return undefined
    return readString(this.buf, this.hostStart - 1, this.hostEnd)
  }

  // The value of one header: a string as it is; anything else (a number, an object, nested 20,000
  // deep) as its JSON text, so that a path can use it and nothing is rejected for its type.
  header(name: string): string | undefined {
    const buf = this.buf
    const limit = this.headersEnd
    let i = this.headersStart
    if (i === -1 || buf[i] !== 0x7b) return undefined
    i++
    let found: string | undefined
    for (;;) {
      while (i < limit && isSpace(buf[i]!)) i++
      if (buf[i] !== QUOTE) return found
      const keyEnd = stringEnd(buf, i, limit)
      if (keyEnd === -1) return found
      const key = readString(buf, i, keyEnd)
      i = keyEnd + 1
      while (i < limit && isSpace(buf[i]!)) i++
      if (buf[i] !== COLON) return found
      i++
      while (i < limit && isSpace(buf[i]!)) i++
      const end = valueEnd(buf, i, limit)
      if (end === -1) return found
      if (key === name) found = buf[i] === QUOTE ? readString(buf, i, end - 1) : buf.toString('utf8', i, end)
      i = end
      while (i < limit && isSpace(buf[i]!)) i++
      if (buf[i] !== COMMA) return found
      i++
    }
  }

  // The longest the body can be once written (unescaping and base64 only shrink).
  bodyBound(): number {
    if (this.body64Start !== -1) return this.body64End - this.body64Start
    return this.scratchLen >= 0 ? this.scratchLen : this.bodyEnd - this.bodyStart
  }

  // Writes the original body bytes into out at `at`: body64 when present (exact non-UTF-8
  // bytes), else the body unescaped. Returns the bytes written, or -1 when malformed.
  writeBody(out: Buffer, at: number): number {
    const buf = this.buf
    if (this.body64Start !== -1) {
      return out.write(buf.toString('latin1', this.body64Start, this.body64End), at, 'base64')
    }
    if (this.scratchLen < 0) return -1
    return this.scratch.copy(out, at, 0, this.scratchLen)
  }
}
