import t from 'tap'
import {
  BLOCK_HEADER,
  blockHeaderOf,
  blockSize,
  checkRecord,
  crc32,
  crc32Range,
  encodeBlock,
  encodeBlockLines,
  encodeRecords,
  forEachLine,
  linesOf,
  OVERHEAD,
  peekRecord,
  resync,
} from '../../src/channel/record.js'
import { fuzz, mutate, type Rng } from '../fixtures/fuzz.js'

t.test('crc32 matches the standard check value', async (t) => {
  t.equal(crc32(Buffer.from('123456789')), 0xcbf43926)
})

t.test('records round-trip heads given as strings and buffers, with their indexes', async (t) => {
  const heads = ['{"body":"a"', Buffer.from('{"body":"ü é"'), '{"body":""']
  const buf = encodeRecords(heads, 41, 1700000000123)
  t.equal(
    buf.length,
    heads.reduce((n, h) => n + Buffer.byteLength(h) + OVERHEAD, 0),
  )
  let at = 0
  const got: string[] = []
  while (at < buf.length) {
    const c = checkRecord(buf, at, buf.length)
    if (c.kind !== 'ok') throw new Error(`record at ${at}: ${c.kind}`)
    t.equal(c.record.index, 41 + got.length)
    t.equal(c.record.time, 1700000000123)
    got.push(c.record.payload.toString())
    at = c.record.end
  }
  t.same(got, heads.map(String))
})

t.test('a record cut short is partial, a flipped byte is corrupt, and resync finds the next one', async (t) => {
  const buf = encodeRecords(['{"body":"one"', '{"body":"two"', '{"body":"three"'], 0, 1)
  const first = checkRecord(buf, 0, buf.length)
  if (first.kind !== 'ok') throw new Error('first record')
  t.equal(checkRecord(buf, 0, first.record.end - 1).kind, 'partial')
  t.equal(checkRecord(buf, 0, 5).kind, 'partial')
  const bad = Buffer.from(buf)
  bad[25] ^= 0x20 // inside the first payload
  t.equal(checkRecord(bad, 0, bad.length).kind, 'corrupt')
  const next = resync(bad, 0, bad.length)
  t.equal(next, first.record.end)
  const lenFlip = Buffer.from(buf)
  lenFlip[1] ^= 0xff // the length field itself
  t.equal(checkRecord(lenFlip, 0, lenFlip.length).kind !== 'ok', true)
  t.equal(resync(lenFlip, 0, lenFlip.length), first.record.end)
  const onlyBad = bad.subarray(0, first.record.end)
  t.equal(resync(onlyBad, 0, onlyBad.length), -1, 'nothing valid after it')
})

t.test('a block round-trips its heads with one checksum, and linesOf skips the ones already taken', async (t) => {
  const heads = ['{"body":"a"', Buffer.from('{"body":"ü é"'), '{"body":""']
  const buf = encodeBlock(heads, 100, 1700000000123)
  t.equal(buf.length, blockSize(heads))
  const c = checkRecord(buf, 0, buf.length)
  if (c.kind !== 'ok') throw new Error(c.kind)
  t.match(c.record, { index: 100, count: 3, time: 1700000000123, block: true, start: 0, end: buf.length })
  const got: string[] = []
  forEachLine(linesOf(c.record, 100).lines, (h) => got.push(h.toString()))
  t.same(got, heads.map(String))
  const later = linesOf(c.record, 102)
  t.equal(later.count, 1)
  t.equal(later.lines.toString(), '{"body":""\n')
  t.equal(linesOf(c.record, 103).count, 0)
  t.same(peekRecord(buf, 0), { size: buf.length, next: 103 })
  // a single-event record gives its head and the newline after it
  const one = encodeRecords(['{"body":"x"'], 7, 1)
  const r1 = checkRecord(one, 0, one.length)
  if (r1.kind !== 'ok') throw new Error(r1.kind)
  t.equal(linesOf(r1.record, 7).lines.toString(), '{"body":"x"\n')
  t.same(peekRecord(one, 0), { size: one.length, next: 8 })
})

t.test('blocks and single-event records mixed in one buffer are each found, and resync finds a block after damage', async (t) => {
  const a = encodeRecords(['{"body":"old"'], 0, 1)
  const b = encodeBlock(['{"body":"new1"', '{"body":"new2"'], 1, 2)
  const c = encodeBlock(['{"body":"new3"'], 3, 3)
  const all = Buffer.concat([a, b, c])
  const damaged = Buffer.from(all)
  damaged[a.length + 30] ^= 0x04 // inside b's payload
  t.equal(checkRecord(damaged, a.length, damaged.length).kind, 'corrupt')
  t.equal(resync(damaged, a.length, damaged.length), a.length + b.length)
  const short = checkRecord(all, a.length, a.length + b.length - 1)
  t.same(short, { kind: 'partial', need: b.length })
})

// Record decoding on hostile bytes: never a throw, never an "ok" record that is not one the writer
// made (its events must be exactly the heads encoded), and resync only ever lands on a real one.
t.test('record decoding fuzzed', async (t) => {
  const heads = (rng: Rng): string[] =>
    Array.from({ length: rng.int(1, 6) }, () => `{"body":${JSON.stringify(rng.nastyString(rng.int(0, 20)))}`)
  await fuzz(t, 'checkRecord/resync/peekRecord/linesOf', { cases: 3000 }, (rng) => {
    const parts = Array.from({ length: rng.int(1, 4) }, (_, i) =>
      rng.bool(0.3) ? encodeRecords(heads(rng), i * 10, 5) : encodeBlock(heads(rng), i * 10, 5),
    )
    const valid = Buffer.concat(parts)
    const input = rng.bool(0.1) ? rng.bytes(rng.int(0, 200)) : mutate(rng, valid)
    for (let at = 0; at < input.length; at++) {
      const c = checkRecord(input, at, input.length)
      peekRecord(input, at)
      if (c.kind !== 'ok') continue
      let n = 0
      forEachLine(linesOf(c.record, c.record.index).lines, () => n++)
      if (n !== c.record.count) throw new Error(`record at ${at}: count ${c.record.count} but ${n} heads`)
    }
    const next = resync(input, 0, input.length)
    if (next !== -1 && checkRecord(input, next, input.length).kind !== 'ok') throw new Error(`resync landed on ${next}, not a record`)
  })
})

t.test('a block from heads laid out as lines is the block encodeBlock makes from those heads', async (t) => {
  const heads = ['{"body":"a"', '{"body":"é","ts":1', '{"body":""']
  const lines = Buffer.from(heads.map((h) => `${h}\n`).join(''))
  t.same(encodeBlockLines(lines, heads.length, 42, 1700000000123), encodeBlock(heads, 42, 1700000000123))
  const into = Buffer.alloc(1024, 0xff)
  t.same(encodeBlockLines(lines, heads.length, 42, 5, into), encodeBlock(heads, 42, 5), 'into a bigger buffer')
})

t.test('a header of its own followed by the lines as they lie is the same block, byte for byte', async (t) => {
  const heads = ['{"body":"a"', '{"body":"é","ts":1', '{"body":""']
  const lines = Buffer.from(heads.map((h) => `${h}\n`).join(''))
  const header = blockHeaderOf(Buffer.alloc(BLOCK_HEADER, 0xff), lines, heads.length, 7, 1700000000123)
  const block = Buffer.concat([header, lines])
  t.same(block, encodeBlock(heads, 7, 1700000000123))
  const check = checkRecord(block, 0, block.length)
  t.equal(check.kind, 'ok', "it passes the reader's check")
  // the checksum covers the lines: one flipped byte of them fails it
  block[BLOCK_HEADER + 3] ^= 1
  t.equal(checkRecord(block, 0, block.length).kind, 'corrupt')
})

t.test('crc32 goes on from a seed as over the bytes joined', async (t) => {
  const a = Buffer.from('{"body":"first part"')
  const b = Buffer.from(',"more":"second part"}')
  t.equal(crc32Range(b, 0, b.length, crc32(a)), crc32(Buffer.concat([a, b])))
})
