// The WebAssembly escaper (tail's fast path) against escapeBytes, the JavaScript path it replaces:
// the same bytes for any input, at every position of a 16-byte step.
import t from 'tap'
import { escapeBytes } from '../../src/core/json-bytes.js'
import { escaper, WasmEscaper } from '../../src/core/json-escape-wasm.js'
import { fuzz } from '../fixtures/fuzz.js'

const wasm = escaper()

t.test('made here (Node has WebAssembly SIMD)', async (t) => {
  t.ok(wasm, 'escaper() is defined')
})

const both = (src: Buffer, start: number, end: number): { want: Buffer; got: Buffer } => {
  const want = Buffer.alloc(6 * (end - start) + 8, 0xee)
  const wantEnd = escapeBytes(src, start, end, want, 3)
  const got = Buffer.alloc(6 * (end - start) + 8, 0xee)
  wasm!.load(src)
  const gotEnd = wasm!.escape(start, end, got, 3)
  return { want: want.subarray(0, wantEnd), got: got.subarray(0, gotEnd) }
}

t.test('each byte value alone and at every offset of a 16-byte step', async (t) => {
  for (let b = 0; b < 256; b++) {
    for (let at = 0; at < 40; at++) {
      const src = Buffer.alloc(48, 0x61)
      src[at] = b
      const { want, got } = both(src, 0, src.length)
      if (!got.equals(want)) t.fail(`byte ${b} at ${at}: ${got.toString('latin1')} != ${want.toString('latin1')}`)
    }
  }
  t.pass('all 256 values at 40 offsets')
})

fuzz(t, 'random and hostile bytes escape exactly as escapeBytes does', { cases: 3000 }, (rng) => {
  const parts: Buffer[] = []
  for (let i = rng.int(1, 8); i > 0; i--) {
    parts.push(
      rng.pick([
        rng.bytes(rng.int(0, 40)),
        Buffer.from(rng.nastyString(rng.int(0, 30))),
        Buffer.alloc(rng.int(0, 70), 0x78),
        Buffer.from('GET /a "q" \\ 200\t\u0000\u001f\u007f ✓ 😀 \u2028 é'),
        Buffer.from([0xf0, 0x9f, 0x98]), // a 4-byte character cut short
      ]),
    )
  }
  const src = Buffer.concat(parts)
  const start = rng.int(0, src.length)
  const end = rng.int(start, src.length)
  const { want, got } = both(src, start, end)
  if (!got.equals(want)) throw new Error(`${JSON.stringify(got.toString('latin1'))} != ${JSON.stringify(want.toString('latin1'))}`)
})

t.test('a new source of the same length is copied in again, not taken for the last one', async (t) => {
  const a = Buffer.from('aaaaaaaaaaaaaaaaaaaa"aaaa')
  const b = Buffer.from('bbbbbbbb\\bbbbbbbbbbbbbbbb')
  t.same(both(a, 0, a.length).got, both(a, 0, a.length).want)
  t.same(both(b, 0, b.length).got, both(b, 0, b.length).want)
  t.same(both(a, 2, 22).got, both(a, 2, 22).want)
})

t.test('its limits hold a long line escaped at worst', async (t) => {
  t.ok(WasmEscaper.srcMax >= 1024 * 1024)
  const src = Buffer.alloc(Math.floor(WasmEscaper.dstMax / 6), 0x01)
  const { want, got } = both(src, 0, src.length)
  t.equal(got.length, 3 + 6 * src.length)
  t.ok(got.equals(want))
})

fuzz(t, 'escaped straight into one of its own chunks: the same bytes, nothing written past them', { cases: 1500 }, (rng) => {
  const chunk = (globalThis as { testChunk?: Buffer }).testChunk ?? wasm!.chunk(128 * 1024)!
  ;(globalThis as { testChunk?: Buffer }).testChunk = chunk
  const src = Buffer.concat([rng.bytes(rng.int(0, 60)), Buffer.alloc(rng.int(0, 40), 0x62), Buffer.from(rng.nastyString(rng.int(0, 20)))])
  const { want } = both(src, 0, src.length)
  const at = rng.int(0, 100)
  chunk.fill(0xee, 0, 1024)
  wasm!.load(src)
  const end = wasm!.escape(0, src.length, chunk, at + 3)
  if (!chunk.subarray(at, end).equals(Buffer.concat([Buffer.alloc(3, 0xee), want.subarray(3)])))
    throw new Error(`${chunk.toString('latin1', at + 3, end)} != ${want.toString('latin1', 3)}`)
  if (chunk.subarray(0, at).some((b) => b !== 0xee)) throw new Error('wrote before its offset')
  if (end + 16 <= at + 3 + 6 * src.length && chunk.subarray(at + 3 + 6 * src.length, 1024).some((b) => b !== 0xee))
    throw new Error('wrote past the bound')
})

fuzz(t, 'escaped into the end of one chunk: the next chunk (adjacent in memory) is never touched', { cases: 800 }, (rng) => {
  const g = globalThis as { pair?: [Buffer, Buffer] }
  g.pair ??= [wasm!.chunk(128 * 1024)!, wasm!.chunk(128 * 1024)!]
  const [a, b] = g.pair
  if (a.byteOffset + a.length !== b.byteOffset) throw new Error('the chunks are not adjacent')
  const src = Buffer.concat([rng.bytes(rng.int(0, 70)), Buffer.alloc(rng.int(0, 50), 0x63), Buffer.from(rng.nastyString(rng.int(0, 20)))])
  const { want } = both(src, 0, src.length)
  const escaped = want.subarray(3)
  b.fill(0xee, 0, 64)
  a.fill(0xee, a.length - escaped.length - 64)
  wasm!.load(src)
  const end = wasm!.escape(0, src.length, a, a.length - escaped.length)
  if (end !== a.length) throw new Error(`ended at ${end}, not ${a.length}`)
  if (!a.subarray(a.length - escaped.length).equals(escaped)) throw new Error('wrong bytes')
  if (a.subarray(a.length - escaped.length - 64, a.length - escaped.length).some((x) => x !== 0xee))
    throw new Error('wrote before its offset')
  if (b.subarray(0, 64).some((x) => x !== 0xee)) throw new Error('wrote into the next chunk')
})

fuzz(t, 'in a chunk, nothing is written past the end it returns (its 16-byte stores stay inside the output)', { cases: 1500 }, (rng) => {
  const g = globalThis as { testChunk?: Buffer }
  const chunk = (g.testChunk ??= wasm!.chunk(128 * 1024)!)
  const src = Buffer.concat([Buffer.alloc(rng.int(0, 40), 0x64), rng.bytes(rng.int(0, 60)), Buffer.from(rng.nastyString(rng.int(0, 20)))])
  const at = rng.int(0, 64)
  chunk.fill(0xee, 0, 2048)
  wasm!.load(src)
  const start = rng.int(0, src.length)
  const end = wasm!.escape(start, src.length, chunk, at)
  if (chunk.subarray(end, 2048).some((x) => x !== 0xee)) throw new Error(`wrote past ${end}`)
})

t.test('its chunks are the slot size only, and run out', async (t) => {
  t.equal(wasm!.chunk(1000), undefined)
  let n = 0
  while (wasm!.chunk(128 * 1024)) n++
  t.ok(n > 0 && n < 64, `${n} chunks`)
  t.equal(wasm!.chunk(128 * 1024), undefined)
})
