// collect --flume-avro under abuse: sockets that connect and send nothing must not lock the Flume
// agents out once --max-connections is reached. As on --listen, a connection that never
// handshook is closed to make room for a new one.
import t from 'tap'
import { connect, type Socket } from 'node:net'
import { readFileSync } from 'node:fs'
import { decodeAnswer, FlumeStatus } from '../../../src/flume-avro/messages.js'
import { AvroReader, longBytes } from '../../../src/flume-avro/avro.js'
import { encodeHandshakeRequest } from '../../../src/flume-avro/handshake.js'
import { APPEND_BATCH_HEAD } from '../../../src/flume-avro/messages.js'
import { encodeFrame, NettyFrameDecoder, type NettyFrame } from '../../../src/flume-avro/netty-frames.js'
import { tmpdir } from '../../fixtures/procs.js'
import { fixture, run, tsf, until } from '../../fixtures/tcp-helpers.js'

const capture = readFileSync(new URL('../../flume-avro/fixtures/captures/plain/conn1.c2s.bin', import.meta.url))
// the first call of the capture: handshake + 5 events
const first = capture.subarray(0, 8 + 4 + 48 + 4 + 646)

t.test('silent connections filling --max-connections give way to a Flume sink', async (t) => {
  const dir = tmpdir(t)
  const p = run(`${tsf} collect --flume-avro 127.0.0.1:0 --max-connections 3 | node ${fixture('link-reader.mjs')} ${dir}/out`, dir)
  t.teardown(() => p.kill())
  const [, port] = await p.waitFor(/flume-avro listening on 127\.0\.0\.1:(\d+)/)
  const open = async (): Promise<Socket> => {
    const s = connect(Number(port), '127.0.0.1')
    s.on('error', () => {})
    t.teardown(() => s.destroy())
    await new Promise((r) => s.once('connect', r))
    return s
  }
  const silent: Socket[] = []
  const closed = new Set<Socket>()
  for (let i = 0; i < 3; i++) {
    const s = await open()
    s.on('close', () => closed.add(s))
    silent.push(s)
  }
  const answers: NettyFrame[] = []
  const decoder = new NettyFrameDecoder(1 << 20)
  const sender = await open()
  sender.on('data', (d: Buffer) => decoder.push(d, (f) => answers.push(f)))
  sender.write(first)
  await until(
    () => answers.length >= 1,
    20_000,
    () => `an answer to the Flume sink; collect said: ${p.stderr()}`,
  )
  const r = new AvroReader().reset(answers[0]!.payload)
  r.pos = 4 // the handshake answer BOTH: 00 00 00 00
  t.same(decodeAnswer(r), { status: FlumeStatus.ok }, 'its call answered OK')
  await until(() => closed.has(silent[0]!), 20_000, 'the oldest silent connection closed')
  t.equal(closed.size, 1, 'only one silent connection made room')
})

t.test('large frames on many connections stop at --max-buffer (reading pauses), and calls go on once they close', async (t) => {
  const dir = tmpdir(t)
  const p = run(
    `${tsf} collect --flume-avro 127.0.0.1:0 --max-buffer 1M --max-batch-bytes 1M --metrics 127.0.0.1:0 | node ${fixture('link-reader.mjs')} ${dir}/out`,
    dir,
  )
  t.teardown(() => p.kill())
  const [, port] = await p.waitFor(/flume-avro listening on 127\.0\.0\.1:(\d+)/)
  const open = async (): Promise<Socket> => {
    const s = connect(Number(port), '127.0.0.1')
    s.on('error', () => {})
    t.teardown(() => s.destroy())
    await new Promise((r) => s.once('connect', r))
    return s
  }
  // four connections, each 900 kB into a frame that announces 1 MB: 3.6 MB held without a bound
  const hogs: Socket[] = []
  for (let i = 0; i < 4; i++) {
    const s = await open()
    const head = Buffer.alloc(12)
    head.writeUInt32BE(1, 0)
    head.writeUInt32BE(1, 4)
    head.writeUInt32BE(1_000_000, 8)
    s.write(Buffer.concat([head, Buffer.alloc(900_000, 0x61)]))
    hogs.push(s)
  }
  await p.waitFor(/senders hold more than --max-buffer 1048576 bytes: reading paused/, 60_000)
  const [, metricsPort] = await p.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)\//)
  const m = (await (await fetch(`http://127.0.0.1:${metricsPort}/metrics.json`)).json()) as { collect: Record<string, number> }
  t.equal(m.collect.OpenConnectionCount, 4, 'the Flume connections are counted as open')
  t.ok(m.collect.ReadPausedCount >= 1, 'ReadPausedCount')
  for (const s of hogs) s.destroy()
  const answers: NettyFrame[] = []
  const decoder = new NettyFrameDecoder(1 << 20)
  const sender = await open()
  sender.on('data', (d: Buffer) => decoder.push(d, (f) => answers.push(f)))
  sender.write(first)
  await until(
    () => answers.length >= 1,
    30_000,
    () => `an answer to the Flume sink; collect said: ${p.stderr()}`,
  )
  const r = new AvroReader().reset(answers[0]!.payload)
  r.pos = 4 // the handshake answer BOTH
  t.same(decodeAnswer(r), { status: FlumeStatus.ok }, 'a Flume call is taken once the large frames are gone')
})

t.test('a call of more empty events than --max-batch-bytes / 64 is refused with an error; collect goes on', async (t) => {
  const dir = tmpdir(t)
  const p = run(`${tsf} collect --flume-avro 127.0.0.1:0 --max-batch-bytes 1M | node ${fixture('link-reader.mjs')} ${dir}/out`, dir)
  t.teardown(() => p.kill())
  const [, port] = await p.waitFor(/flume-avro listening on 127\.0\.0\.1:(\d+)/)
  // appendBatch of n empty events (an empty header map and an empty body: 2 bytes each)
  const call = (n: number): Buffer =>
    encodeFrame(1, [encodeHandshakeRequest(false), APPEND_BATCH_HEAD, Buffer.concat([longBytes(n), Buffer.alloc(2 * n), Buffer.from([0])])])
  const send = async (frame: Buffer): Promise<{ answer: unknown; closed: boolean }> => {
    const s = connect(Number(port), '127.0.0.1')
    s.on('error', () => {})
    t.teardown(() => s.destroy())
    const answers: NettyFrame[] = []
    const decoder = new NettyFrameDecoder(1 << 20)
    let closed = false
    s.on('data', (d: Buffer) => decoder.push(d, (f) => answers.push(f)))
    s.on('close', () => (closed = true))
    s.write(frame)
    await until(
      () => answers.length >= 1,
      30_000,
      () => `an answer; collect said: ${p.stderr()}`,
    )
    const r = new AvroReader().reset(answers[0]!.payload)
    r.pos = 4 // the handshake answer BOTH
    const answer = decodeAnswer(r)
    if ('error' in answer) await until(() => closed, 30_000, 'the connection closed after the error')
    return { answer, closed }
  }
  const refused = await send(call(16385))
  t.match(refused.answer, { error: /a call of more than 16384 events/ }, 'past the bound: an error answer')
  t.ok(refused.closed, 'and the connection closed')
  t.same((await send(call(16384))).answer, { status: FlumeStatus.ok }, 'at the bound: OK')
})
