// collect --flume-avro without a JVM: calls answered FAILED once collect is shutting down (the
// Flume sink keeps the events and retries elsewhere), and one-line usage errors. The protocol
// itself is tested against a real Flume in flume-agent.test.ts.
import t from 'tap'
import { connect, type Socket } from 'node:net'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { AvroReader, longBytes } from '../../../src/flume-avro/avro.js'
import { encodeHandshakeRequest } from '../../../src/flume-avro/handshake.js'
import { APPEND_BATCH_HEAD, decodeAnswer, FlumeStatus } from '../../../src/flume-avro/messages.js'
import { encodeFrame, NettyFrameDecoder, type NettyFrame } from '../../../src/flume-avro/netty-frames.js'
import { tmpdir } from '../../fixtures/procs.js'
import { fixture, root, run, tsf, until } from '../../fixtures/tcp-helpers.js'

const capture = readFileSync(new URL('../../flume-avro/fixtures/captures/plain/conn1.c2s.bin', import.meta.url))
// the capture holds two calls: serial 1 (handshake + 5 events) and serial 2 (2 events)
const first = capture.subarray(0, 8 + 4 + 48 + 4 + 646)
const second = capture.subarray(first.length)

t.test('a call arriving while collect shuts down is answered FAILED; the one taken before is still answered OK', async (t) => {
  const dir = tmpdir(t)
  // the reader holds its acks for a while: the first call stays unanswered until it acks
  const p = run(
    `sh -c 'echo $$ > ${dir}/collect.pid; exec ${tsf} collect --flume-avro 127.0.0.1:0 --shutdown-timeout 30s' | node ${fixture('link-reader.mjs')} ${dir}/out --delay 8000`,
    dir,
  )
  t.teardown(() => p.kill())
  const [, port] = await p.waitFor(/flume-avro listening on 127\.0\.0\.1:(\d+)/)
  const answers: NettyFrame[] = []
  const decoder = new NettyFrameDecoder(1 << 20)
  const s = connect(Number(port), '127.0.0.1')
  s.on('data', (d: Buffer) => decoder.push(d, (f) => answers.push(f)))
  t.teardown(() => s.destroy())
  await new Promise((r) => s.once('connect', r))
  s.write(first)
  // collect took the first call (the reader got its events) before it is told to stop
  await until(
    () => {
      try {
        return readFileSync(join(dir, 'out'), 'utf8').split('\n').length > 5
      } catch {
        return false
      }
    },
    20_000,
    'the first call at the reader',
  )
  process.kill(Number(readFileSync(join(dir, 'collect.pid'), 'utf8')), 'SIGTERM')
  // collect stops listening at once on SIGTERM: once a new connection is refused it is stopping
  // (and still holds the first call, whose ack the reader delays)
  const refused = (): Promise<boolean> =>
    new Promise((resolve) => {
      const c = connect(Number(port), '127.0.0.1')
      c.once('connect', () => {
        c.destroy()
        resolve(false)
      })
      c.once('error', () => resolve(true))
    })
  const deadline = Date.now() + 20_000
  while (!(await refused())) if (Date.now() > deadline) throw new Error('collect still accepts connections after SIGTERM')
  s.write(second)
  await until(
    () => answers.length >= 2,
    30_000,
    () => `two answers (have ${answers.length}); collect said: ${p.stderr()}`,
  )
  const status = (f: NettyFrame): unknown => {
    const r = new AvroReader().reset(f.payload)
    if (f.serial === 1) r.pos = 4 // the handshake answer BOTH: 00 00 00 00
    return decodeAnswer(r)
  }
  const bySerial = new Map(answers.map((f) => [f.serial, status(f)]))
  t.same(bySerial.get(2), { status: FlumeStatus.failed }, 'the call that came during shutdown: FAILED')
  t.same(bySerial.get(1), { status: FlumeStatus.ok }, 'the call taken before: OK once the reader acked it')
})

t.test('usage errors are one line', async (t) => {
  const tsfRun = (...args: string[]): string => {
    try {
      execFileSync('node', [join(root, 'bin/tsf.js'), ...args], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' })
      return ''
    } catch (e) {
      return String((e as { stderr: string }).stderr).trim()
    }
  }
  t.match(
    tsfRun('collect', '--flume-avro', '127.0.0.1:0', '--flume-ssl'),
    /^tsf collect: (error: )?--flume-ssl needs --tls-cert and --tls-key$/,
  )
  t.match(
    tsfRun('collect', '--flume-compression', 'deflate'),
    /^tsf collect: (error: )?--flume-ssl and --flume-compression go with --flume-avro/,
  )
  t.match(tsfRun('ship', 'flume+thrift://c1:4141'), /^tsf ship: .*thrift protocol is not supported yet/)
  t.match(
    tsfRun('ship', 'c1:4141', '--compress', 'deflate'),
    /^tsf ship: (error: )?--flume-ssl and --compress deflate apply to flume\+avro:\/\/ destinations only$/,
  )
  t.match(
    tsfRun('ship', 'flume+avro://c1:4141', '--compress', 'gzip'),
    /^tsf ship: (error: )?--compress gzip does not apply to flume\+avro:\/\/ destinations$/,
  )
  t.match(tsfRun('ship', 'flume+avro://c1:4141', 'c2:4141'), /cannot be mixed/)
})

t.test('a call arriving while stdout is a whole window behind is answered FAILED (a full channel), and OK once it caught up', async (t) => {
  const dir = tmpdir(t)
  // the reader starts reading when told (the file go): what collect wrote stays unacked until then
  const p = run(
    `${tsf} collect --flume-avro 127.0.0.1:0 --metrics 127.0.0.1:0 | node ${fixture('link-reader.mjs')} ${dir}/out --start-when ${dir}/go`,
    dir,
  )
  t.teardown(() => p.kill())
  const [, port] = await p.waitFor(/flume-avro listening on 127\.0\.0\.1:(\d+)/)
  const [, metricsPort] = await p.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)\//)
  const sender = (): { s: Socket; answers: NettyFrame[] } => {
    const s = connect(Number(port), '127.0.0.1')
    s.on('error', () => {})
    t.teardown(() => s.destroy())
    const answers: NettyFrame[] = []
    const decoder = new NettyFrameDecoder(1 << 20)
    s.on('data', (d: Buffer) => decoder.push(d, (f) => answers.push(f)))
    return { s, answers }
  }
  const status = (f: NettyFrame): unknown => {
    const r = new AvroReader().reset(f.payload)
    r.pos = 4 // the handshake answer BOTH: 00 00 00 00
    return decodeAnswer(r)
  }
  // one call of 18 MiB (180 events of 100 kB): more than the 16 MiB window
  const body = Buffer.alloc(100_000, 0x61)
  const event = Buffer.concat([Buffer.from([0]), longBytes(body.length), body])
  const big = encodeFrame(1, [
    encodeHandshakeRequest(false),
    APPEND_BATCH_HEAD,
    Buffer.concat([longBytes(180), ...Array.from({ length: 180 }, () => event), Buffer.from([0])]),
  ])
  const a = sender()
  a.s.write(big)
  // taken: collect wrote its events (counted in the same turn)
  for (const deadline = Date.now() + 60_000; ; await new Promise((r) => setTimeout(r, 100))) {
    const m = (await (await fetch(`http://127.0.0.1:${metricsPort}/metrics.json`)).json()) as { collect: Record<string, number> }
    if (m.collect.EventReceivedCount === 180) break
    if (Date.now() > deadline) throw new Error(`the big call not taken; collect said: ${p.stderr()}`)
  }
  // a Flume sink's call now: FAILED at once, while the big call still waits for its ack
  const b = sender()
  b.s.write(first)
  await until(
    () => b.answers.length >= 1,
    30_000,
    () => `an answer to the second sink; collect said: ${p.stderr()}`,
  )
  t.same(status(b.answers[0]!), { status: FlumeStatus.failed }, 'FAILED while stdout is a window behind')
  t.equal(a.answers.length, 0, 'the big call is not answered yet')
  await p.waitFor(/answered FAILED until it catches up/)
  writeFileSync(join(dir, 'go'), '')
  await until(
    () => a.answers.length >= 1,
    120_000,
    () => `the big call answered; collect said: ${p.stderr()}`,
  )
  t.same(status(a.answers[0]!), { status: FlumeStatus.ok }, 'the big call OK once acked')
  // the Flume sink retries (a new connection after FAILED): taken now
  const c = sender()
  c.s.write(first)
  await until(
    () => c.answers.length >= 1,
    60_000,
    () => `an answer to the retry; collect said: ${p.stderr()}`,
  )
  t.same(status(c.answers[0]!), { status: FlumeStatus.ok }, 'the retry is taken once stdout caught up')
})
