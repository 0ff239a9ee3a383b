// A one-pass, allocation-free check that a line is one JSON object, for stages that pass event
// lines on without parsing them (collect's batches). JSON.parse would build every string and
// object only to throw them away; this walks the bytes once and also reports where the top-level
// "src" string starts, so collect can bind it to the sender without parsing the event.
//
// It accepts exactly what JSON.parse accepts for an object (RFC 8259), except that nesting deeper
// than MAX_DEPTH is refused: such a line is kept as the body of a plain event instead, so no later
// stage recurses on it.

export const MAX_DEPTH = 64
const stack = new Uint8Array(MAX_DEPTH)

// What scanObject finds (a number, so a hot loop allocates nothing per line):
export const NOT_JSON = -3 // not exactly one JSON object
export const NOT_EVENT = -2 // a JSON object, but its top-level "body" is not a string
export const NO_SRC = -1 // a tsf event without a top-level "src" string
// ≥ 0: a tsf event; the offset of the first byte of its top-level "src" string (after the quote)

const QUOTE = 0x22
const BACKSLASH = 0x5c

const isHex = (c: number): boolean => (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66)

// 32-bit words over the buffer, so a string's plain stretches are skipped four bytes at a time
let wordsOf: ArrayBufferLike | undefined
let viewOf: Buffer | undefined
let view: Uint8Array<ArrayBufferLike> = new Uint8Array(0)
// drop the word view (it keeps its buffer alive) once a batch is checked
export const releaseScanBuffer = (): void => {
  viewOf = undefined
  view = new Uint8Array(0)
  wordsOf = undefined
  words = new Uint32Array(0)
}
let words: Uint32Array<ArrayBufferLike> = new Uint32Array(0)

// the byte after a string that starts at `at` (just past its opening quote), or -1 when invalid
const skipString = (b: Uint8Array, base: number, at: number, end: number): number => {
  const W = words
  let i = at
  while (i < end) {
    // whole words holding no quote, backslash or control byte
    if (((base + i) & 3) === 0) {
      let w = (base + i) >>> 2
      const last = ((base + end) >>> 2) - 1
      while (w < last) {
        const x = W[w]!
        const q = x ^ 0x22222222
        const e = x ^ 0x5c5c5c5c
        if ((((q - 0x01010101) & ~q) | ((e - 0x01010101) & ~e) | ((x - 0x20202020) & ~x)) & 0x80808080) break
        w++
      }
      i = (w << 2) - base
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
      } else if (e !== QUOTE && e !== BACKSLASH && e !== 0x2f && e !== 0x62 && e !== 0x66 && e !== 0x6e && e !== 0x72 && e !== 0x74) return -1
    }
    i++
  }
  return -1
}

const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39

// the byte after a number at `at`, or -1
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

const literal = (b: Uint8Array, at: number, end: number, word: string): number => {
  if (at + word.length > end) return -1
  for (let k = 0; k < word.length; k++) if (b[at + k] !== word.charCodeAt(k)) return -1
  return at + word.length
}

const isSpace = (c: number | undefined): boolean => c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a

const keyIs = (b: Uint8Array, start: number, stop: number, key: string): boolean => {
  if (stop - start !== key.length) return false
  for (let k = 0; k < key.length; k++) if (b[start + k] !== key.charCodeAt(k)) return false
  return true
}

// Checks b[start, end) is exactly one JSON object (surrounding spaces allowed).
// Views are made once per buffer (the lines of a batch come one after another); call
// releaseScanBuffer after the last line so they do not keep the buffer alive.
export const scanObject = (buf: Buffer, start = 0, end = buf.length): number => {
  // a plain Uint8Array view: element reads on it are faster than on a Buffer
  const ab = buf.buffer
  if (viewOf !== buf) {
    viewOf = buf
    view = new Uint8Array(ab, buf.byteOffset, buf.length)
  }
  const b = view
  const base = buf.byteOffset
  if (wordsOf !== ab) {
    wordsOf = ab
    words = new Uint32Array(ab, 0, ab.byteLength >>> 2)
  }
  let i = start
  while (i < end && isSpace(b[i])) i++
  if (b[i] !== 0x7b) return NOT_JSON
  // open containers: 1 = object, 2 = array
  let depth = 0
  let event = false
  let srcAt = -1
  // what the next token must be
  let expectValue = true
  let expectKey = false
  let topKeyStart = -1
  let topKeyEnd = -1
  while (i < end) {
    const c = b[i]!
    if (isSpace(c)) {
      i++
      continue
    }
    if (expectKey) {
      // after { or , in an object: a key (or } right after {)
      if (c === 0x7d && b[i - 1] !== 0x2c && prevNonSpace(b, i, start) === 0x7b) {
        depth--
        i++
        expectKey = false
        if (depth === 0) break
        continue
      }
      if (c !== QUOTE) return NOT_JSON
      const after = skipString(b, base, i + 1, end)
      if (after < 0) return NOT_JSON
      if (depth === 1) {
        topKeyStart = i + 1
        topKeyEnd = after - 1
      }
      i = after
      while (i < end && isSpace(b[i])) i++
      if (b[i] !== 0x3a) return NOT_JSON
      i++
      expectKey = false
      expectValue = true
      continue
    }
    if (expectValue) {
      // a value (or ] right after [)
      if (c === 0x5d && depth > 0 && stack[depth - 1] === 2 && prevNonSpace(b, i, start) === 0x5b) {
        depth--
        i++
        expectValue = false
        if (depth === 0) break
        continue
      }
      const top = depth === 1 && topKeyStart >= 0
      if (c === QUOTE) {
        const after = skipString(b, base, i + 1, end)
        if (after < 0) return NOT_JSON
        if (top) {
          if (keyIs(b, topKeyStart, topKeyEnd, 'body')) event = true
          else if (keyIs(b, topKeyStart, topKeyEnd, 'src') && srcAt < 0) srcAt = i + 1
        }
        i = after
      } else if (c === 0x7b || c === 0x5b) {
        if (depth === MAX_DEPTH) return NOT_JSON
        if (top && keyIs(b, topKeyStart, topKeyEnd, 'body')) event = false
        stack[depth++] = c === 0x7b ? 1 : 2
        i++
        if (c === 0x7b) {
          expectKey = true
          expectValue = false
        }
        continue
      } else {
        if (top && keyIs(b, topKeyStart, topKeyEnd, 'body')) event = false
        const after = c === 0x74 ? literal(b, i, end, 'true') : c === 0x66 ? literal(b, i, end, 'false') : c === 0x6e ? literal(b, i, end, 'null') : skipNumber(b, i, end)
        if (after < 0) return NOT_JSON
        i = after
      }
      if (top && depth === 1) topKeyStart = -1
      expectValue = false
      continue
    }
    // after a value: , or the close of its container
    if (depth === 0) return NOT_JSON
    const open = stack[depth - 1]
    if (c === 0x2c) {
      i++
      if (open === 1) expectKey = true
      else expectValue = true
      continue
    }
    if ((c === 0x7d && open === 1) || (c === 0x5d && open === 2)) {
      depth--
      i++
      if (depth === 0) break
      continue
    }
    return NOT_JSON
  }
  if (depth !== 0) return NOT_JSON
  while (i < end && isSpace(b[i])) i++
  if (i !== end) return NOT_JSON
  return event ? srcAt : NOT_EVENT
}

const prevNonSpace = (b: Uint8Array, i: number, start: number): number => {
  let k = i - 1
  while (k >= start && isSpace(b[k])) k--
  return k >= start ? b[k]! : -1
}
