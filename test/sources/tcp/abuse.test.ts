// Collect under abuse (issue #14): silent sockets, stalled partial frames, frames in a compression
// that was not agreed, batch lines that only look like JSON. Each costs its own connection only,
// within bounded memory, and a real ship still gets through.
import t from 'tap'
import { connect, type Socket } from 'node:net'
import { readFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { bodies, lines, run, startCollect, tsf, until, type Proc } from '../../fixtures/tcp-helpers.js'
import { WireConnection } from '../../../src/sinks/tcp/connection.js'
import { encodeHeader, FLAG_GZIP, FrameType } from '../../../src/core/wire/frames.js'

const kill = (t: { teardown: (f: () => void) => void }, ...ps: Proc[]): void => t.teardown(() => ps.forEach((p) => p.kill()))

const silent = (port: number): Promise<Socket> =>
  new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => resolve(s))
    s.on('error', () => undefined)
    s.resume() // read, so the collector closing it is seen
  })

const closed = (s: Socket): Promise<void> => new Promise((resolve) => (s.destroyed ? resolve() : s.once('close', () => resolve())))

const opened = async (port: number): Promise<{ conn: WireConnection; socket: Socket }> => {
  const conn = new WireConnection(
    { kind: 'tcp', host: '127.0.0.1', port, name: 'raw' },
    { gzip: false, connectTimeout: 5000, ackTimeout: 60_000 },
  )
  await conn.open()
  return { conn, socket: (conn as unknown as { socket: Socket }).socket }
}

const status = (pid: number, field: string): number =>
  Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024

t.test('silent sockets at the connection limit are closed for a real ship, oldest first', async (t) => {
  const dir = t.testdir()
  const col = await startCollect(dir, '--max-connections 10', 'out.ndjson')
  kill(t, col)
  const socks = await Promise.all(Array.from({ length: 10 }, () => silent(col.port)))
  t.teardown(() => socks.forEach((s) => s.destroy()))
  const ship = run(`echo through | ${tsf} ship 127.0.0.1:${col.port} --shutdown-timeout 5s`, dir)
  kill(t, ship)
  t.equal(await ship.exited, 0, ship.stderr())
  t.same(bodies(`${dir}/out.ndjson`), ['through'])
  await closed(socks[0]!)
  t.ok(socks[0]!.destroyed, 'the oldest silent socket made room')
  t.match(col.stderr(), /closed to make room: the collector is at --max-connections and this connection had not finished its handshake/)
})

t.test('the handshake has a deadline counted from accept', async (t) => {
  const dir = t.testdir()
  const col = await startCollect(dir, '--handshake-timeout 300ms', 'out.ndjson')
  kill(t, col)
  const quiet = await silent(col.port)
  const half = await silent(col.port)
  half.write('TSF/1 HELLO nonce=aaaaaaaaaaaaaaaaaaaaaaaa compress=\n') // and then no AUTH
  await Promise.all([closed(quiet), closed(half)])
  t.match(col.stderr(), /no handshake within 300 ms of connecting/)
})

t.test('stalled partial frames: memory stays within --max-buffer and a real ship gets through', async (t) => {
  const dir = t.testdir()
  const MB = 1024 * 1024
  // the defaults: --max-batch-bytes 64M, --max-buffer 64M
  const col = await startCollect(dir, '--read-timeout 10s', 'out.ndjson')
  kill(t, col)
  const pid = col.child.pid!
  const before = status(pid, 'VmRSS')
  const stalled = await Promise.all(Array.from({ length: 8 }, () => opened(col.port)))
  t.teardown(() => stalled.forEach((s) => s.conn.close()))
  // each declares a 64 MiB batch, sends 60 MiB of it and stops (one buffer, written eight times)
  const part = Buffer.concat([encodeHeader(FrameType.batch, 0, 1, 1, 64 * MB), Buffer.alloc(60 * MB, 0x61)])
  for (const { socket } of stalled) socket.write(part)
  await col.waitFor(/reading paused/)
  const ship = run(`echo through | ${tsf} ship 127.0.0.1:${col.port} --shutdown-timeout 20s`, dir)
  kill(t, ship)
  t.equal(await ship.exited, 0, ship.stderr())
  t.same(bodies(`${dir}/out.ndjson`), ['through'])
  const peak = status(pid, 'VmHWM')
  // 8 × 60 MiB would be 480 MiB held (main: peak RSS 547 MiB); the budget keeps it to about 64 MiB
  // plus socket chunks and allocator slack
  t.ok(peak - before < 200 * MB, `peak RSS grew by ${((peak - before) / MB).toFixed(0)} MiB (bound 200)`)
})

t.test('a gzip frame on a connection that agreed no compression closes it; nothing emitted', async (t) => {
  const dir = t.testdir()
  const col = await startCollect(dir, '--no-compress', 'out.ndjson')
  kill(t, col)
  const { conn, socket } = await opened(col.port)
  const ended = new Promise<Error | undefined>((resolve) => conn.once('end', (e: Error | undefined) => resolve(e)))
  const packed = gzipSync('{"body":"zipped"}\n')
  socket.write(Buffer.concat([encodeHeader(FrameType.batch, FLAG_GZIP, 1, 1, packed.length), packed]))
  t.match((await ended)?.message, /compression was not agreed/)
  t.same(lines(`${dir}/out.ndjson`), [])
})

t.test('every line collect writes is JSON: batch lines that only look like {…} become plain bodies', async (t) => {
  const dir = t.testdir()
  const col = await startCollect(dir, '', 'out.ndjson')
  kill(t, col)
  const { conn, socket } = await opened(col.port)
  const acked = new Promise<void>((resolve) => conn.once('ack', () => resolve()))
  const bad = [
    '{,"_ack":"x"}',
    '{"body":"tab\there"}',
    '{"body":1}',
    '{"body":"a"}}',
    '{"body":"ok","n":[1,2,{"x":null}]}',
    `{"body":"deep","d":${'['.repeat(100)}${']'.repeat(100)}}`,
  ]
  const payload = Buffer.from(bad.map((l) => `${l}\n`).join(''))
  socket.write(Buffer.concat([encodeHeader(FrameType.batch, 0, 1, bad.length, payload.length), payload]))
  // the ack comes through the WireConnection's own handler
  ;(conn as unknown as { inflight: { add(id: number, batch: unknown): void } }).inflight.add(1, {})
  await acked
  await until(() => lines(`${dir}/out.ndjson`).length === bad.length, 5000, 'all lines written')
  const out = lines(`${dir}/out.ndjson`).map((l) => JSON.parse(l) as { body: string })
  t.same(
    out.map((e) => e.body),
    [
      '{,"_ack":"x"}',
      '{"body":"tab\there"}',
      '{"body":1}',
      '{"body":"a"}}',
      'ok',
      `{"body":"deep","d":${'['.repeat(100)}${']'.repeat(100)}}`,
    ],
  )
  t.match(col.stderr(), /is not a JSON event/)
  conn.close()
})
