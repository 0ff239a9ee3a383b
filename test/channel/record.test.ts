import t from 'tap'
import { checkRecord, crc32, encodeRecords, OVERHEAD, resync } from '../../src/channel/record.js'

t.test('crc32 matches the standard check value', async (t) => {
  t.equal(crc32(Buffer.from('123456789')), 0xcbf43926)
})

t.test('records round-trip heads given as strings and buffers, with their indexes', async (t) => {
  const heads = ['{"body":"a"', Buffer.from('{"body":"ü é"'), '{"body":""']
  const buf = encodeRecords(heads, 41, 1700000000123)
  t.equal(buf.length, heads.reduce((n, h) => n + Buffer.byteLength(h) + OVERHEAD, 0))
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
