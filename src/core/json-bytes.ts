import { isUtf8 } from 'node:buffer'
import { putWord, viewOf } from './json-scan.js'
import { quote } from './json-string.js'

// JSON string literals written as bytes straight into an output buffer, for sources that build
// event heads from the bytes they received (syslog): no per-event string, regex or concatenation.
// For valid UTF-8 the bytes are exactly those of JSON.stringify of the decoded text (a test holds
// them to it): quote, backslash and control characters escaped, everything else copied.

const HEX = Buffer.from('0123456789abcdef')

// bytes copied as they are: all but quote, backslash and control characters
const PLAIN = new Uint8Array(256).fill(1)
PLAIN.fill(0, 0, 0x20)
PLAIN[0x22] = 0
PLAIN[0x5c] = 0

// JSON.stringify's short escapes; other control characters become \u00XX
const SHORT = new Uint8Array(0x60)
SHORT[0x08] = 0x62 // \b
SHORT[0x09] = 0x74 // \t
SHORT[0x0a] = 0x6e // \n
SHORT[0x0c] = 0x66 // \f
SHORT[0x0d] = 0x72 // \r
SHORT[0x22] = 0x22 // \"
SHORT[0x5c] = 0x5c // \\

// One byte that JSON must escape (quote, backslash, a control character), written at `at`: its
// short escape or \u00XX. Returns the offset after it.
const escapeByte = (c: number, out: Uint8Array, at: number): number => {
  out[at++] = 0x5c
  const short = SHORT[c]!
  if (short) out[at++] = short
  else {
    out[at++] = 0x75 // u00XX
    out[at++] = 0x30
    out[at++] = 0x30
    out[at++] = HEX[c >> 4]!
    out[at++] = HEX[c & 15]!
  }
  return at
}

// The most bytes escapeBytes writes for n bytes of input (every byte as \u00XX).
export const escapedBound = (n: number): number => 6 * n

// Writes src[start, end) escaped for the inside of a JSON string (no quotes) into out at `at`;
// returns the offset after it. The caller checks the bytes are valid UTF-8 (isUtf8).
export const escapeBytes = (src: Uint8Array, start: number, end: number, out: Uint8Array, at: number): number => {
  // four bytes at a time through the words of src's ArrayBuffer while none needs escaping
  const v = viewOf(src)
  const W = v.words
  const base = src.byteOffset
  const lastWord = ((base + end) >>> 2) - 1
  for (let s = start; s < end; s++) {
    if (((base + s) & 3) === 0) {
      let w = (base + s) >>> 2
      while (w < lastWord) {
        const x = W[w]!
        const q = x ^ 0x22222222
        const e = x ^ 0x5c5c5c5c
        if ((((q - 0x01010101) & ~q) | ((e - 0x01010101) & ~e) | ((x - 0x20202020) & ~x)) & 0x80808080) break
        putWord(out, at, x)
        at += 4
        w++
      }
      s = (w << 2) - base
      if (s >= end) break
    }
    const c = src[s]!
    if (PLAIN[c] === 1) {
      out[at++] = c
      continue
    }
    at = escapeByte(c, out, at)
  }
  return at
}

// escapeBytes for ASCII text, without a UTF-8 check first: returns -1 at the first byte >= 0x80
// (the caller then checks and escapes the bytes the careful way; what was written is garbage).
// W: the words of src's ArrayBuffer (viewOf(src).words), when the caller has them already.
export const escapeAscii = (
  src: Uint8Array,
  start: number,
  end: number,
  out: Uint8Array,
  at: number,
  W: Uint32Array<ArrayBufferLike> = viewOf(src).words,
): number => {
  const base = src.byteOffset
  const lastWord = ((base + end) >>> 2) - 1
  for (let s = start; s < end; s++) {
    if (((base + s) & 3) === 0) {
      let w = (base + s) >>> 2
      while (w < lastWord) {
        const x = W[w]!
        const q = x ^ 0x22222222
        const e = x ^ 0x5c5c5c5c
        if ((((q - 0x01010101) & ~q) | ((e - 0x01010101) & ~e) | ((x - 0x20202020) & ~x) | x) & 0x80808080) break
        putWord(out, at, x)
        at += 4
        w++
      }
      s = (w << 2) - base
      if (s >= end) break
    }
    const c = src[s]!
    if (PLAIN[c] === 1) {
      if (c >= 0x80) return -1
      out[at++] = c
      continue
    }
    at = escapeByte(c, out, at)
  }
  return at
}

// The most bytes writeQuoted writes for s (JSON.stringify escapes a UTF-16 unit as 6 bytes at most).
export const quotedBound = (s: string): number => 6 * s.length + 2

// Writes quote(s) into out at `at`; returns the offset after it.
export const writeQuoted = (s: string, out: Buffer, at: number): number => {
  // short ASCII text without anything to escape (header names and values): byte by byte
  if (s.length <= 64) {
    let i = 0
    for (; i < s.length; i++) {
      const c = s.charCodeAt(i)
      if (c >= 0x80 || PLAIN[c] !== 1) break
    }
    if (i === s.length) {
      out[at++] = 0x22
      for (let k = 0; k < s.length; k++) out[at++] = s.charCodeAt(k)
      out[at++] = 0x22
      return at
    }
  }
  return at + out.write(quote(s), at, 'utf8')
}

// Writes "body":"<bytes>" (and "body64" when the bytes are not UTF-8), as bodyFields() does.
export const bodyFieldsBound = (n: number): number => 6 * n + 16 + Math.ceil(n / 3) * 4 + 12
const BODY = Buffer.from('"body":"')
export const writeBodyFields = (bytes: Buffer, out: Buffer, at: number): number => {
  if (!isUtf8(bytes)) {
    // the readable rendering and the exact bytes: the careful path, rare
    return at + out.write(`"body":${quote(bytes.toString('utf8'))},"body64":"${bytes.toString('base64')}"`, at, 'utf8')
  }
  out.set(BODY, at)
  at = escapeBytes(bytes, 0, bytes.length, out, at + BODY.length)
  out[at++] = 0x22
  return at
}
