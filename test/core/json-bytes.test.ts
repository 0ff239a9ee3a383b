import t from 'tap'
import { escapeAscii, escapeBytes, writeBodyFields, writeQuoted } from '../../src/core/json-bytes.js'
import { bodyFields } from '../../src/core/event.js'
import { quote } from '../../src/core/json-string.js'
import { fuzz } from '../fixtures/fuzz.js'

// Bytes written by json-bytes must be exactly what the string path (JSON.stringify) makes.

t.test('escapeBytes and writeBodyFields match JSON.stringify at any alignment, UTF-8 or not', async (t) => {
  const out = Buffer.alloc(8192)
  await fuzz(t, 'json-bytes body', { cases: 3000 }, (rng) => {
    const body = rng.bool(0.3) ? rng.bytes(rng.int(0, 90)) : Buffer.from(rng.nastyString(rng.int(0, 90)))
    const pad = rng.int(0, 7)
    const src = Buffer.concat([Buffer.alloc(pad, 0x41), body]).subarray(pad)
    const n = writeBodyFields(src, out, 5)
    const want = Buffer.from(bodyFields(src))
    if (!out.subarray(5, n).equals(want)) throw new Error(`${out.toString('utf8', 5, n)} != ${want.toString()}`)
  })
  const plain = Buffer.from('a long line with nothing to escape at all, then "one" \\ and a\ttab')
  const n = escapeBytes(plain, 0, plain.length, out, 0)
  t.equal(`"${out.toString('utf8', 0, n)}"`, JSON.stringify(plain.toString()))
})

t.test('escapeAscii writes what escapeBytes writes for ASCII, and gives up (-1) at any byte >= 0x80', async (t) => {
  const a = Buffer.alloc(8192)
  const b = Buffer.alloc(8192)
  await fuzz(t, 'json-bytes ascii', { cases: 3000 }, (rng) => {
    const bytes = rng.bytes(rng.int(0, 90))
    const ascii = rng.bool(0.7)
    if (ascii) for (let i = 0; i < bytes.length; i++) bytes[i]! &= 0x7f
    const pad = rng.int(0, 7)
    const src = Buffer.concat([Buffer.alloc(pad, 0x41), bytes]).subarray(pad)
    const got = escapeAscii(src, 0, src.length, a, 3)
    if (src.some((c) => c >= 0x80)) {
      if (got !== -1) throw new Error(`escapeAscii went on past a byte >= 0x80: ${src.toString('hex')}`)
      return
    }
    const want = escapeBytes(src, 0, src.length, b, 3)
    if (got !== want || !a.subarray(3, got).equals(b.subarray(3, want)))
      throw new Error(`escapeAscii != escapeBytes for ${src.toString('hex')}`)
  })
})

t.test('writeQuoted is quote()', async (t) => {
  const out = Buffer.alloc(4096)
  for (const s of ['', 'Facility', 'sd.id@1.name', 'a"b', 'é', '\u0000', '\ud800', 'x'.repeat(100), 'x'.repeat(100) + '"']) {
    const n = writeQuoted(s, out, 1)
    t.equal(out.toString('utf8', 1, n), quote(s), JSON.stringify(s))
  }
})
