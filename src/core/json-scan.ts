// The one byte-level JSON scanner of tsf, for stages that pass event lines on without JSON.parse:
// collect's check that a batch line is one JSON object (scanObject), roll's and filter's reads of
// a few top-level fields (nextField, stringEnd, valueEnd), and the few decoders they need
// (readNumber, readString, unescapeInto). JSON.parse would build every string and object of an
// event only to use two of them.
//
// Everything works on absolute offsets into a view of the buffer's whole ArrayBuffer (viewOf):
// the lines of one read block share it, so a view is made once per block, not per line, and a
// string's plain stretches are skipped four bytes at a time through its 32-bit word view. No
// recursion anywhere: nesting is counted, so 20,000 levels cost a loop, never the stack.
// scanObject's strings on a view of the WebAssembly scanner's memory (json-scan-wasm.ts, where
// decodeBatch copies a batch's lines) are checked there, 16 bytes a step.

import { madeScanner } from './json-scan-wasm.js'

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const COLON = 0x3a

export const isSpace = (c: number | undefined): boolean => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a

// ---- views ----------------------------------------------------------------------------------

export interface ByteView {
  readonly of: ArrayBufferLike
  // every byte of the ArrayBuffer (element reads on a plain Uint8Array are faster than on a Buffer)
  readonly u8: Uint8Array<ArrayBufferLike>
  // its whole 32-bit words
  readonly words: Uint32Array<ArrayBufferLike>
  // the same bytes as a Buffer, for copy/toString/compare
  readonly buf: Buffer
  // checkedStringEnd in WebAssembly, when these are the bytes of its memory
  readonly str: ((at: number, end: number) => number) | undefined
}

const makeView = (of: ArrayBufferLike): ByteView => {
  const scanner = madeScanner()
  return {
    of,
    u8: new Uint8Array(of),
    words: new Uint32Array(of, 0, of.byteLength >>> 2),
    buf: Buffer.from(of as ArrayBuffer),
    str: scanner && scanner.memory === of ? scanner.str : undefined,
  }
}

const NONE = makeView(new ArrayBuffer(0))
let current = NONE

// The view of buf's ArrayBuffer; buf's bytes are at [buf.byteOffset, buf.byteOffset + buf.length).
export const viewOf = (buf: Uint8Array): ByteView => (current.of === buf.buffer ? current : (current = makeView(buf.buffer)))

// Drop the cached view (it keeps its buffer alive) once a batch is scanned.
export const releaseScanBuffer = (): void => {
  current = NONE
}

// ---- strings --------------------------------------------------------------------------------

// Set by stringEnd: whether the string it ended held a backslash (its bytes need unescaping);
// by unescapeString: how many bytes it wrote.
export const lastString = { escaped: false, written: 0 }

export const HIGH_BITS = 0x80808080

// The first word from w (up to lastWord) holding a quote or a backslash, or a control byte when
// controls is HIGH_BITS (0: control bytes pass). Each test is the "has a zero byte" trick on the
// word XOR the byte searched for: exact about whether a word has one.
export const plainWords = (W: Uint32Array<ArrayBufferLike>, w: number, lastWord: number, controls: number): number => {
  while (w < lastWord) {
    const x = W[w]!
    const q = x ^ 0x22222222
    const e = x ^ 0x5c5c5c5c
    if ((((q - 0x01010101) & ~q) | ((e - 0x01010101) & ~e) | ((x - 0x20202020) & ~x & controls)) & HIGH_BITS) break
    w++
  }
  return w
}

// The index of the quote closing the JSON string whose opening quote is at `at`, or -1 when it is
// not closed before `limit`. Does not check escapes or control bytes (scanObject does).
export const stringEnd = (v: ByteView, at: number, limit: number): number => {
  const b = v.u8
  const W = v.words
  let escaped = false
  let i = at + 1
  const lastWord = (limit >>> 2) - 1
  while (i < limit) {
    if ((i & 3) === 0) {
      // whole words holding no quote or backslash
      const w = plainWords(W, i >>> 2, lastWord, 0)
      if (w << 2 > i) i = w << 2
    }
    const c = b[i]!
    if (c === QUOTE) {
      lastString.escaped = escaped
      return i
    }
    if (c === BACKSLASH) {
      escaped = true
      i++
    }
    i++
  }
  return -1
}

const isHex = (c: number): boolean => (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66)

// scanObject's strings: the byte after the string whose content starts at `at` (just past its
// opening quote), or -1 when it is not valid JSON (bad escape, control byte, not closed).
const checkedStringEnd = (v: ByteView, at: number, end: number): number => {
  if (v.str) return v.str(at, end)
  const b = v.u8
  const W = v.words
  const lastWord = (end >>> 2) - 1
  let i = at
  while (i < end) {
    if ((i & 3) === 0) {
      // whole words holding no quote, backslash or control byte
      const w = plainWords(W, i >>> 2, lastWord, HIGH_BITS)
      if (w << 2 > i) i = w << 2
    }
    const c = b[i]!
    if (c === QUOTE) return i + 1
    if (c < 0x20) return -1
    if (c === BACKSLASH) {
      const e = b[++i]
      if (e === 0x75 /* u */) {
        if (i + 4 >= end) return -1
        for (let k = 1; k <= 4; k++) if (!isHex(b[i + k]!)) return -1
        i += 4
      } else if (e !== QUOTE && e !== BACKSLASH && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74)
        return -1
    }
    i++
  }
  return -1
}

// Writes the four bytes of a little-endian word (read from a Uint32Array view) at `to`.
export const putWord = (out: Uint8Array, to: number, x: number): void => {
  out[to] = x & 0xff
  out[to + 1] = (x >>> 8) & 0xff
  out[to + 2] = (x >>> 16) & 0xff
  out[to + 3] = x >>> 24
}

// The byte each one-letter escape stands for (\" \\ \/ \b \f \n \r \t); -1: not one. A typed table,
// not an object: a lookup per escape on the hot path.
export const SIMPLE_ESCAPES = new Int16Array(256).fill(-1)
for (const [e, b] of [
  [0x22, 0x22],
  [0x5c, 0x5c],
  [0x2f, 0x2f],
  [0x62, 0x08],
  [0x66, 0x0c],
  [0x6e, 0x0a],
  [0x72, 0x0d],
  [0x74, 0x09],
] as const)
  SIMPLE_ESCAPES[e] = b

// Writes the JSON string content [start, end) (between the quotes) into out at `to`, unescaped;
// returns the number of bytes written (never more than end - start), or -1 when an escape is
// malformed. The common escapes are done inline; \uXXXX takes the exact path (JSON.parse knows
// surrogate pairs and lone surrogates) for the rest of the string.
export const unescapeInto = (v: ByteView, start: number, end: number, out: Uint8Array, to: number): number => {
  const b = v.u8
  const W = v.words
  const at = to
  let i = start
  while (i < end) {
    // a whole word without a backslash: its four bytes as they are
    if ((i & 3) === 0 && i + 4 <= end) {
      const x = W[i >>> 2]!
      const e = x ^ 0x5c5c5c5c
      if (!((e - 0x01010101) & ~e & 0x80808080)) {
        putWord(out, to, x)
        to += 4
        i += 4
        continue
      }
    }
    const c = b[i]!
    if (c !== BACKSLASH) {
      out[to++] = c
      i++
      continue
    }
    if (i + 1 >= end) return -1
    const e = b[i + 1]!
    const byte = SIMPLE_ESCAPES[e]!
    if (byte >= 0) {
      out[to++] = byte
      i += 2
      continue
    }
    if (e !== 0x75) return -1
    let text: string
    try {
      text = JSON.parse(`"${v.buf.toString('utf8', i, end)}"`) as string
    } catch {
      return -1
    }
    return to + Buffer.from(out.buffer, out.byteOffset, out.length).write(text, to, 'utf8') - at
  }
  return to - at
}

// stringEnd and unescapeInto in one pass, for a string that is read to be written (roll's
// bodies, its hottest loop): finds the quote closing the string opened at `at` and writes its
// content, unescaped, into out from `base` (`words`: a DataView of out's bytes, which stores a
// whole word without a quote or backslash in one write at any offset, in a tight inner loop).
// Returns the index of that quote (or -1, not closed before limit); lastString.written is the
// number of bytes written, -1 when an escape is malformed. out needs limit - at bytes of room.
export const unescapeString = (v: ByteView, at: number, limit: number, out: Uint8Array, words: DataView, base: number): number => {
  const b = v.u8
  const W = v.words
  const lastWord = limit >>> 2
  let to = base
  let i = at + 1
  for (;;) {
    if ((i & 3) === 0) {
      let w = i >>> 2
      while (w < lastWord) {
        const x = W[w]!
        const q = x ^ 0x22222222
        const e = x ^ 0x5c5c5c5c
        if ((((q - 0x01010101) & ~q) | ((e - 0x01010101) & ~e)) & 0x80808080) break
        words.setUint32(to, x, true)
        to += 4
        w++
      }
      i = w << 2
    }
    if (i >= limit) return -1
    const c = b[i]!
    if (c === QUOTE) {
      lastString.written = to - base
      return i
    }
    if (c !== BACKSLASH) {
      out[to++] = c
      i++
      continue
    }
    const byte = i + 1 < limit ? SIMPLE_ESCAPES[b[i + 1]!]! : -1
    if (byte >= 0) {
      out[to++] = byte
      i += 2
      continue
    }
    // \u or a malformed escape: the exact path for the rest of the string
    const end = stringEnd(v, i - 1, limit)
    if (end === -1) return -1
    const n = unescapeInto(v, i, end, out, to)
    lastString.written = n === -1 ? -1 : to - base + n
    return end
  }
}

// A JSON string's value (start/end: its quotes); undefined when an escape is malformed.
export const readString = (v: ByteView, start: number, end: number): string | undefined => {
  const buf = v.buf
  const bs = buf.indexOf(BACKSLASH, start + 1)
  if (bs === -1 || bs >= end) return buf.toString('utf8', start + 1, end)
  try {
    return JSON.parse(buf.toString('utf8', start, end + 1)) as string
  } catch {
    return undefined
  }
}

// ---- other values ---------------------------------------------------------------------------

// The end (exclusive) of the JSON value starting at `at`, or -1 when it is not one. Sets
// lastString when the value is a string.
export const valueEnd = (v: ByteView, at: number, limit: number): number => {
  const b = v.u8
  const c = b[at]
  if (c === QUOTE) {
    const q = stringEnd(v, at, limit)
    return q === -1 ? -1 : q + 1
  }
  if (c === 0x7b || c === 0x5b) {
    // an object or array: count brackets, strings skipped whole; iterative whatever the depth
    let depth = 0
    for (let i = at; i < limit; i++) {
      const d = b[i]
      if (d === QUOTE) {
        i = stringEnd(v, i, limit)
        if (i === -1) return -1
      } else if (d === 0x7b || d === 0x5b) depth++
      else if (d === 0x7d || d === 0x5d) {
        if (--depth === 0) return i + 1
      }
    }
    return -1
  }
  // a number, true, false or null
  let i = at
  while (i < limit) {
    const d = b[i]!
    if (d === COMMA || d === 0x7d || d === 0x5d || isSpace(d)) break
    if (!((d >= 0x30 && d <= 0x39) || (d >= 0x61 && d <= 0x7a) || d === 0x2d || d === 0x2b || d === 0x2e || d === 0x45)) return -1
    i++
  }
  return i > at ? i : -1
}

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/

// A JSON number between start and end; NaN when it is not one.
export const readNumber = (v: ByteView, start: number, end: number): number => {
  const b = v.u8
  let n = 0
  let i = start
  if (end - start <= 15) {
    for (; i < end; i++) {
      const d = b[i]! - 0x30
      if (d < 0 || d > 9) break
      n = n * 10 + d
    }
    if (i === end && end > start && (b[start] !== 0x30 || end - start === 1)) return n
  }
  const text = v.buf.toString('latin1', start, end)
  return NUMBER.test(text) ? Number(text) : NaN
}

// True when the bytes [start, end) are `key`.
export const bytesAre = (v: ByteView, start: number, end: number, key: Uint8Array): boolean => {
  if (end - start !== key.length) return false
  const b = v.u8
  for (let i = 0; i < key.length; i++) if (b[start + i] !== key[i]) return false
  return true
}

// ---- fields of an object --------------------------------------------------------------------

// One member of an object, as nextField finds it (reused: no object per field).
export interface FieldSpan {
  keyStart: number // the key's content (between its quotes)
  keyEnd: number
  start: number // the value's JSON text: [start, end)
  end: number
  escaped: boolean // the value is a string holding a backslash
}

export const newFieldSpan = (): FieldSpan => ({ keyStart: -1, keyEnd: -1, start: -1, end: -1, escaped: false })

export const FIELDS_END = -1 // no more members (f is not filled)
export const FIELDS_BAD = -2 // not JSON here
export const FIELDS_LAST = -3 // f is filled with the last member

// The members of an object whose text after its opening brace is [at, limit) and whose closing
// brace is `limit` itself or absent (an event head has none). Call with the index after "{" and
// then with what it returns while that is ≥ 0: each call fills `f` with the next member and
// returns where the one after it starts (after its comma), or FIELDS_LAST when it was the last,
// or FIELDS_END / FIELDS_BAD. `first` tells whether no member came before.
export const nextField = (v: ByteView, at: number, limit: number, f: FieldSpan, first: boolean): number => {
  const b = v.u8
  let i = at
  while (i < limit && isSpace(b[i])) i++
  if (i >= limit) return first ? FIELDS_END : FIELDS_BAD // "{}" ... or "{...,}"
  if (b[i] !== QUOTE) return FIELDS_BAD
  const keyEnd = stringEnd(v, i, limit)
  if (keyEnd === -1) return FIELDS_BAD
  f.keyStart = i + 1
  f.keyEnd = keyEnd
  i = keyEnd + 1
  while (i < limit && isSpace(b[i])) i++
  if (b[i] !== COLON) return FIELDS_BAD
  i++
  while (i < limit && isSpace(b[i])) i++
  f.start = i
  lastString.escaped = false
  const end = valueEnd(v, i, limit)
  if (end === -1) return FIELDS_BAD
  f.end = end
  f.escaped = b[i] === QUOTE && lastString.escaped
  i = end
  while (i < limit && isSpace(b[i])) i++
  if (i >= limit) return FIELDS_LAST
  if (b[i] !== COMMA) return FIELDS_BAD
  return i + 1
}

// ---- the check of a whole object (collect) ----------------------------------------------------

// scanObject accepts exactly what JSON.parse accepts for an object (RFC 8259), except that nesting
// deeper than MAX_DEPTH is refused: such a line is kept as the body of a plain event instead, so
// no later stage recurses on it.
export const MAX_DEPTH = 64
const stack = new Uint8Array(MAX_DEPTH)

// What scanObject finds (a number, so a hot loop allocates nothing per line):
export const NOT_JSON = -3 // not exactly one JSON object
export const NOT_EVENT = -2 // a JSON object, but its top-level "body" is not a string
export const NO_SRC = -1 // a tsf event without a top-level "src" string
// ≥ 0: a tsf event; the offset in buf of the first byte of its top-level "src" string (after the quote)

const skipNumber = (b: Uint8Array, at: number, end: number): number => {
  let i = at
  if (b[i] === 0x2d) i++
  if (i >= end || !isDigit(b[i])) return -1
  if (b[i] === 0x30) i++
  else while (i < end && isDigit(b[i])) i++
  if (i < end && b[i] === 0x2e) {
    i++
    if (i >= end || !isDigit(b[i])) return -1
    while (i < end && isDigit(b[i])) i++
  }
  if (i < end && (b[i] === 0x65 || b[i] === 0x45)) {
    i++
    if (i < end && (b[i] === 0x2b || b[i] === 0x2d)) i++
    if (i >= end || !isDigit(b[i])) return -1
    while (i < end && isDigit(b[i])) i++
  }
  return i
}

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39

const literal = (b: Uint8Array, at: number, end: number, word: string): number => {
  if (at + word.length > end) return -1
  for (let k = 0; k < word.length; k++) if (b[at + k] !== word.charCodeAt(k)) return -1
  return at + word.length
}

// The end (exclusive) of the true, false, null or number at `at` (checked), or -1.
const scalarEnd = (b: Uint8Array, at: number, end: number): number => {
  const c = b[at]
  return c === 0x74
    ? literal(b, at, end, 'true')
    : c === 0x66
      ? literal(b, at, end, 'false')
      : c === 0x6e
        ? literal(b, at, end, 'null')
        : skipNumber(b, at, end)
}

const keyIs = (b: Uint8Array, start: number, stop: number, key: string): boolean => {
  if (stop - start !== key.length) return false
  for (let k = 0; k < key.length; k++) if (b[start + k] !== key.charCodeAt(k)) return false
  return true
}

const prevNonSpace = (b: Uint8Array, i: number, start: number): number => {
  let k = i - 1
  while (k >= start && isSpace(b[k])) k--
  return k >= start ? b[k]! : -1
}

// Checks buf[start, end) is exactly one JSON object (surrounding spaces allowed). The view is made
// once per buffer (the lines of a batch come one after another); call releaseScanBuffer after the
// last line so that it does not keep the buffer alive. The top level is walked member by member
// (an event's members are flat: strings and numbers, about half its cost was the generic state
// machine's bookkeeping); a nested object or array goes to containerEnd.
export const scanObject = (buf: Buffer, start = 0, end = buf.length): number => {
  const v = viewOf(buf)
  const b = v.u8
  const base = buf.byteOffset
  const stop = base + end
  let i = base + start
  while (i < stop && isSpace(b[i])) i++
  if (i >= stop || b[i] !== 0x7b) return NOT_JSON
  i++
  while (i < stop && isSpace(b[i])) i++
  let event = false
  let srcAt = -1
  if (i < stop && b[i] === 0x7d)
    i++ // {}
  else
    for (;;) {
      if (i >= stop || b[i] !== QUOTE) return NOT_JSON
      const keyStart = i + 1
      i = checkedStringEnd(v, keyStart, stop)
      if (i < 0) return NOT_JSON
      const keyLength = i - 1 - keyStart
      const isBody = keyLength === 4 && keyIs(b, keyStart, i - 1, 'body')
      while (i < stop && isSpace(b[i])) i++
      if (i >= stop || b[i] !== COLON) return NOT_JSON
      i++
      while (i < stop && isSpace(b[i])) i++
      if (i >= stop) return NOT_JSON
      const c = b[i]!
      if (c === QUOTE) {
        const after = checkedStringEnd(v, i + 1, stop)
        if (after < 0) return NOT_JSON
        // duplicate keys: JSON.parse keeps the last body, and the first src string is the one moved
        if (isBody) event = true
        else if (srcAt < 0 && keyLength === 3 && keyIs(b, keyStart, keyStart + 3, 'src')) srcAt = i + 1 - base
        i = after
      } else {
        if (isBody) event = false
        i = c === 0x7b || c === 0x5b ? containerEnd(v, i, stop, MAX_DEPTH - 1) : scalarEnd(b, i, stop)
        if (i < 0) return NOT_JSON
      }
      while (i < stop && isSpace(b[i])) i++
      if (i >= stop) return NOT_JSON
      if (b[i] === COMMA) {
        i++
        while (i < stop && isSpace(b[i])) i++
        continue
      }
      if (b[i] !== 0x7d) return NOT_JSON
      i++
      break
    }
  while (i < stop && isSpace(b[i])) i++
  if (i !== stop) return NOT_JSON
  return event ? srcAt : NOT_EVENT
}

// The end (exclusive) of the object or array that opens at `first`, checked as JSON, or -1; more
// than `maxDepth` levels of nesting (itself included) are refused.
const containerEnd = (v: ByteView, first: number, stop: number, maxDepth: number): number => {
  const b = v.u8
  let i = first
  // open containers: 1 = object, 2 = array
  let depth = 0
  // what the next token must be
  let expectValue = true
  let expectKey = false
  while (i < stop) {
    const c = b[i]!
    if (isSpace(c)) {
      i++
      continue
    }
    if (expectKey) {
      // after { or , in an object: a key (or } right after {)
      if (c === 0x7d && b[i - 1] !== 0x2c && prevNonSpace(b, i, first) === 0x7b) {
        depth--
        i++
        expectKey = false
        if (depth === 0) return i
        continue
      }
      if (c !== QUOTE) return -1
      const after = checkedStringEnd(v, i + 1, stop)
      if (after < 0) return -1
      i = after
      while (i < stop && isSpace(b[i])) i++
      if (b[i] !== COLON || i >= stop) return -1
      i++
      expectKey = false
      expectValue = true
      continue
    }
    if (expectValue) {
      // a value (or ] right after [)
      if (c === 0x5d && depth > 0 && stack[depth - 1] === 2 && prevNonSpace(b, i, first) === 0x5b) {
        depth--
        i++
        expectValue = false
        if (depth === 0) return i
        continue
      }
      if (c === QUOTE) {
        const after = checkedStringEnd(v, i + 1, stop)
        if (after < 0) return -1
        i = after
      } else if (c === 0x7b || c === 0x5b) {
        if (depth === maxDepth) return -1
        stack[depth++] = c === 0x7b ? 1 : 2
        i++
        if (c === 0x7b) {
          expectKey = true
          expectValue = false
        }
        continue
      } else {
        if (depth === 0) return -1
        const after = scalarEnd(b, i, stop)
        if (after < 0) return -1
        i = after
      }
      expectValue = false
      continue
    }
    // after a value: , or the close of its container
    if (depth === 0) return -1
    const open = stack[depth - 1]
    if (c === COMMA) {
      i++
      if (open === 1) expectKey = true
      else expectValue = true
      continue
    }
    if ((c === 0x7d && open === 1) || (c === 0x5d && open === 2)) {
      depth--
      i++
      if (depth === 0) return i
      continue
    }
    return -1
  }
  return -1
}
