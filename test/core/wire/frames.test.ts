import t from 'tap'
import {
  ackFrame,
  encodeHeader,
  errorFrame,
  FRAME_HEADER,
  FrameDecoder,
  FrameType,
  releaseFrame,
  type Frame,
} from '../../../src/core/wire/frames.js'

const batchFrame = (id: number, payload: string): Buffer => {
  const p = Buffer.from(payload)
  return Buffer.concat([encodeHeader(FrameType.batch, 0, id, 1, p.length), p])
}

t.test('frames split at every byte boundary come out whole and in order', async (t) => {
  const stream = Buffer.concat([batchFrame(1, '{"body":"a"}\n'), ackFrame(7), batchFrame(2, ''), errorFrame('bye\nnow')])
  for (let step = 1; step <= stream.length; step++) {
    const d = new FrameDecoder(1024)
    const got: Frame[] = []
    for (let at = 0; at < stream.length; at += step) d.push(stream.subarray(at, at + step), (f) => got.push(f))
    t.equal(got.length, 4, `step ${step}`)
    t.same(
      got.map((f) => [f.type, f.id, f.payload.toString()]),
      [
        [FrameType.batch, 1, '{"body":"a"}\n'],
        [FrameType.ack, 7, ''],
        [FrameType.batch, 2, ''],
        [FrameType.error, 0, 'bye now'],
      ],
    )
    t.equal(d.partial, 0)
  }
})

t.test('a frame longer than the limit is refused from its header, before its bytes are held', async (t) => {
  const d = new FrameDecoder(100)
  t.throws(() => d.push(encodeHeader(FrameType.batch, 0, 1, 1, 101), () => t.fail('no frame')), /frame of 101 bytes exceeds/)
  const d2 = new FrameDecoder(100)
  d2.push(encodeHeader(FrameType.batch, 0, 1, 1, 100).subarray(0, 5), () => undefined)
  t.throws(() => d2.push(encodeHeader(FrameType.batch, 0, 1, 1, 1000).subarray(5), () => undefined), /exceeds the limit of 100/)
})

t.test('bytes that are not a tsf frame are refused', async (t) => {
  const d = new FrameDecoder(100)
  t.throws(() => d.push(Buffer.from('GET / HTTP/1.1\r\n\r\n'), () => undefined), /not a tsf frame \(type byte 0x47\)/)
})

t.test('a partial frame is reported until it completes', async (t) => {
  const d = new FrameDecoder(100)
  const f = batchFrame(3, 'xyz')
  d.push(f.subarray(0, FRAME_HEADER + 1), () => t.fail('not yet'))
  t.equal(d.partial, FRAME_HEADER + 1)
  let n = 0
  d.push(f.subarray(FRAME_HEADER + 1), () => n++)
  t.equal(n, 1)
  t.equal(d.partial, 0)
})

t.test('a big frame read in pieces gets a block that is used again only once released', async (t) => {
  const big = (id: number): Buffer => batchFrame(id, `${String(id).repeat(300 * 1024)}\n`)
  const stream = Buffer.concat([big(1), big(2), ackFrame(3), big(4), big(5)])
  const d = new FrameDecoder(1024 * 1024)
  const got: Frame[] = []
  for (let at = 0; at < stream.length; at += 65536) d.push(stream.subarray(at, at + 65536), (f) => got.push(f))
  t.same(
    got.map((f) => f.id),
    [1, 2, 3, 4, 5],
  )
  t.ok(got[0]!.block && got[1]!.block && got[0]!.block !== got[1]!.block, 'two frames in hand: two blocks')
  // frame 1 released, frame 2 kept: a later frame may take 1's block, never 2's
  const kept = got[1]!.payload.toString()
  releaseFrame(got[0]!)
  const more: Frame[] = []
  const again = big(6)
  for (let at = 0; at < again.length; at += 65536) d.push(again.subarray(at, at + 65536), (f) => more.push(f))
  t.equal(more[0]!.payload.toString(), `${'6'.repeat(300 * 1024)}\n`)
  t.equal(got[1]!.payload.toString(), kept, 'the frame not released is untouched')
  t.ok(more[0]!.payload.buffer === got[0]!.payload.buffer, 'the released block was used again')
  for (const f of [...got, ...more]) releaseFrame(f)
  t.equal(d.partial, 0)
})
