import t from 'tap'
import { connect, type Socket } from 'node:net'
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { execFileSync } from 'node:child_process'
import { bodies, lines, run, startCollect, tsf, until, type Proc } from '../../fixtures/tcp-helpers.js'
import { WireConnection } from '../../../src/sinks/tcp/connection.js'
import { encodeBatch } from '../../../src/core/wire/batch.js'
import { encodeHeader, FrameType } from '../../../src/core/wire/frames.js'
import type { OutBatch } from '../../../src/sinks/tcp/out-batch.js'

const kill = (t: { teardown: (f: () => void) => void }, ...ps: Proc[]): void => t.teardown(() => ps.forEach((p) => p.kill()))

const rawSend = (port: number, data: Buffer | string, keepOpen = false): Promise<string> =>
  new Promise((resolve) => {
    const s: Socket = connect({ host: '127.0.0.1', port }, () => {
      s.write(data)
      if (!keepOpen) s.end()
    })
    let reply = ''
    s.on('data', (d) => (reply += d.toString('latin1')))
    s.on('error', () => undefined)
    s.on('close', () => resolve(reply))
    setTimeout(() => s.destroy(), 5000).unref()
  })

const batchOf = (bodies: string[], seq = 0): OutBatch => ({
  seq,
  payload: encodeBatch(bodies.map((b) => `{"body":${JSON.stringify(b)}`)),
  count: bodies.length,
  shares: [],
})

// one real protocol client in this process: open, send, wait for the ack
const sendOne = async (port: number, body: string, token?: Buffer): Promise<void> => {
  const c = new WireConnection(
    { kind: 'tcp', host: '127.0.0.1', port, name: `127.0.0.1:${port}` },
    { gzip: false, connectTimeout: 5000, ackTimeout: 10_000, token },
  )
  await c.open()
  const acked = new Promise<void>((resolve, reject) => {
    c.once('ack', () => resolve())
    c.once('end', (e: Error | undefined) => reject(e ?? new Error('closed')))
  })
  c.send(batchOf([body]))
  await acked
  c.close()
}

t.test('garbage, random bytes, half frames and huge frames cost only their own connection', async (t) => {
  const dir = t.testdir()
  const col = await startCollect(dir, '--read-timeout 1s', 'out.ndjson')
  kill(t, col)
  await rawSend(col.port, 'GET / HTTP/1.1\r\n\r\n')
  await col.waitFor(/did not open with the tsf hello/)
  await rawSend(col.port, randomBytes(4096))
  await rawSend(col.port, 'TSF/1 HELLO nonce=short\n')
  await col.waitFor(/malformed hello/)
  await rawSend(col.port, 'TSF/9 HELLO nonce=aaaaaaaaaaaaaaaaaaaaaaaa compress=\n')
  await col.waitFor(/unsupported protocol version 9/)
  // a real client that then sends a huge frame header, and another that stops mid-frame
  const c = new WireConnection(
    { kind: 'tcp', host: '127.0.0.1', port: col.port, name: 'x' },
    { gzip: false, connectTimeout: 5000, ackTimeout: 10_000 },
  )
  await c.open()
  ;(c as unknown as { socket: Socket }).socket.write(encodeHeader(FrameType.batch, 0, 1, 1, 0xfffffff0))
  await col.waitFor(/exceeds the limit/)
  const h = new WireConnection(
    { kind: 'tcp', host: '127.0.0.1', port: col.port, name: 'y' },
    { gzip: false, connectTimeout: 5000, ackTimeout: 10_000 },
  )
  await h.open()
  ;(h as unknown as { socket: Socket }).socket.write(
    Buffer.concat([encodeHeader(FrameType.batch, 0, 1, 1, 100), Buffer.from('{"body":"half')]),
  )
  await col.waitFor(/trickling or stuck sender/)
  h.close()
  c.close()
  // the collector is still alive and well
  await sendOne(col.port, 'still here')
  await until(() => bodies(`${dir}/out.ndjson`).includes('still here'), 5000, 'a good sender after the bad ones')
  t.same(bodies(`${dir}/out.ndjson`), ['still here'], 'nothing from the bad connections was emitted')
  t.notMatch(col.stderr(), /at .*\.js:\d+/, 'no stack traces')
})

t.test('--plain takes NDJSON and text from nc-like senders; without it they are closed', async (t) => {
  const dir = t.testdir()
  const strict = await startCollect(dir, '', 'strict.ndjson')
  const plain = await startCollect(dir, '--plain', 'plain.ndjson')
  kill(t, strict, plain)
  const text = 'hello plain\n{"body":"an event","headers":{"k":"v"}}\n{"broken json\n\u0000nul\nno newline at the end'
  await rawSend(strict.port, text)
  await strict.waitFor(/did not open with the tsf hello/)
  await rawSend(plain.port, text)
  await until(() => lines(`${dir}/plain.ndjson`).length >= 5, 5000, 'plain events')
  t.same(bodies(`${dir}/plain.ndjson`), ['hello plain', 'an event', '{"broken json', '\u0000nul', 'no newline at the end'])
  t.same(lines(`${dir}/strict.ndjson`), [])
  const p = run(`${tsf} collect --plain --token-file /dev/null`, dir)
  t.equal(await p.exited, 2, 'plain with a token is a usage error')
})

t.test('a token: refused without it or with the wrong one, nothing emitted; accepted with it', async (t) => {
  const dir = t.testdir()
  writeFileSync(`${dir}/token`, 's3cret\n')
  writeFileSync(`${dir}/wrong`, 'guess\n')
  const col = await startCollect(dir, `--token-file ${dir}/token`, 'out.ndjson')
  kill(t, col)
  const none = run(`echo no-token | ${tsf} ship 127.0.0.1:${col.port} --shutdown-timeout 2s`, dir)
  const wrong = run(`echo wrong-token | ${tsf} ship 127.0.0.1:${col.port} --token-file wrong --shutdown-timeout 2s`, dir)
  const right = run(`echo right-token | ${tsf} ship 127.0.0.1:${col.port} --token-file token`, dir)
  kill(t, none, wrong, right)
  t.equal(await none.exited, 1)
  t.match(none.stderr(), new RegExp(`127\\.0\\.0\\.1:${col.port} asks for a token and we have none`))
  t.equal(await wrong.exited, 1)
  t.match(wrong.stderr(), new RegExp(`127\\.0\\.0\\.1:${col.port} refused us: wrong token`))
  t.equal(await right.exited, 0, right.stderr())
  t.same(bodies(`${dir}/out.ndjson`), ['right-token'])
  t.match(col.stderr(), /refused: wrong token/)
  // a ship with a token refuses a collector that cannot prove it
  const open = await startCollect(dir, '', 'open.ndjson')
  kill(t, open)
  const careful = run(`echo x | ${tsf} ship 127.0.0.1:${open.port} --token-file token --shutdown-timeout 2s`, dir)
  t.equal(await careful.exited, 1)
  t.match(careful.stderr(), /does not ask for a token/)
  t.same(lines(`${dir}/open.ndjson`), [])
})

t.test('TLS with and without client certificates', async (t) => {
  const dir = t.testdir()
  const ssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' })
  ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=test-ca', '-keyout', 'ca.key', '-out', 'ca.pem')
  for (const who of ['server', 'client']) {
    ssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      `/CN=${who === 'server' ? 'localhost' : 'agent'}`,
      '-keyout',
      `${who}.key`,
      '-out',
      `${who}.csr`,
    )
    writeFileSync(`${dir}/${who}.ext`, who === 'server' ? 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' : 'extendedKeyUsage=clientAuth\n')
    ssl(
      'x509',
      '-req',
      '-in',
      `${who}.csr`,
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      `${who}.ext`,
      '-out',
      `${who}.pem`,
    )
  }
  const tls = await startCollect(dir, '--tls-cert server.pem --tls-key server.key', 'tls.ndjson')
  const mtls = await startCollect(dir, '--tls-cert server.pem --tls-key server.key --tls-ca ca.pem', 'mtls.ndjson')
  kill(t, tls, mtls)
  const a = run(`echo over-tls | ${tsf} ship tls://localhost:${tls.port} --tls-ca ca.pem --compress gzip`, dir)
  const b = run(`echo untrusted | ${tsf} ship tls://localhost:${tls.port} --shutdown-timeout 1s`, dir)
  const c = run(`echo with-cert | ${tsf} ship tls://localhost:${mtls.port} --tls-ca ca.pem --tls-cert client.pem --tls-key client.key`, dir)
  const d = run(`echo without-cert | ${tsf} ship tls://localhost:${mtls.port} --tls-ca ca.pem --shutdown-timeout 1s`, dir)
  const e = run(`echo plaintext | ${tsf} ship 127.0.0.1:${tls.port} --shutdown-timeout 1s`, dir)
  kill(t, a, b, c, d, e)
  t.equal(await a.exited, 0, a.stderr())
  t.equal(await b.exited, 1, 'a server certificate we cannot verify is not trusted')
  t.match(b.stderr(), /certificate/)
  t.equal(await c.exited, 0, c.stderr())
  t.equal(await d.exited, 1, 'no client certificate, no delivery')
  t.equal(await e.exited, 1, 'plain TCP to a TLS port fails')
  t.same(bodies(`${dir}/tls.ndjson`), ['over-tls'])
  t.same(bodies(`${dir}/mtls.ndjson`), ['with-cert'])
  t.match(mtls.stderr(), /TLS handshake failed/)
})

t.test('100 concurrent agent connections, each acked', async (t) => {
  const dir = t.testdir()
  const col = await startCollect(dir, '', 'out.ndjson')
  kill(t, col)
  await Promise.all(Array.from({ length: 100 }, (_, i) => sendOne(col.port, `agent ${i}`)))
  const got = bodies(`${dir}/out.ndjson`).sort()
  t.equal(got.length, 100)
  t.equal(new Set(got).size, 100)
})

t.test('--max-connections refuses the extra connection only when every connection is busy', async (t) => {
  const dir = t.testdir()
  const col = await startCollect(dir, '--max-connections 1', 'out.ndjson')
  kill(t, col)
  const first = new WireConnection(
    { kind: 'tcp', host: '127.0.0.1', port: col.port, name: 'a' },
    { gzip: false, connectTimeout: 5000, ackTimeout: 10_000 },
  )
  await first.open()
  // a frame under way: this connection is busy and is not closed to make room
  ;(first as unknown as { socket: Socket }).socket.write(encodeHeader(FrameType.batch, 0, 1, 1, 100))
  await t.rejects(sendOne(col.port, 'second'), /refused us: busy: too many connections/)
  first.close()
})

t.test('--print shows time, host, headers and body with unprintable bytes escaped', async (t) => {
  const dir = t.testdir()
  const col = run(`exec ${tsf} collect --listen 127.0.0.1:0 --print > printed.txt`, dir)
  kill(t, col)
  const port = Number((await col.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1])
  const c = new WireConnection(
    { kind: 'tcp', host: '127.0.0.1', port, name: 'p' },
    { gzip: false, connectTimeout: 5000, ackTimeout: 10_000 },
  )
  await c.open()
  const acked = new Promise((r) => c.once('ack', r))
  c.send({
    seq: 0,
    count: 1,
    shares: [],
    payload: Buffer.from(
      `{"body":"tab\\there \\u001b[31m","body64":"${Buffer.from([0x74, 0x61, 0x62, 9, 0xff, 0x1b]).toString('base64')}","ts":0,"host":"web1","headers":{"path":"/var/log/x"}}\n`,
    ),
  })
  await acked
  c.close()
  const text = lines(`${dir}/printed.txt`)
  t.same(text, ['1970-01-01T00:00:00.000Z web1 {path=/var/log/x} tab\\t\\xff\\x1b'])
})

t.test("collect's downstream reader dies: collect exits 4, the restarted pipeline gets everything", async (t) => {
  const dir = t.testdir()
  const { fixture, missing } = await import('../../fixtures/tcp-helpers.js')
  // collect's own exit status, as the shell only reports the last command's
  const first = run(
    `{ ${tsf} collect --listen 127.0.0.1:0; echo $? > collect.rc; } | node ${fixture('link-reader.mjs')} a.ndjson --delay 20`,
    dir,
  )
  kill(t, first)
  const port = Number((await first.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1])
  const ship = run(`node ${fixture('link-writer.mjs')} 3000 ckpt --rate 1500 | ${tsf} ship 127.0.0.1:${port} --max-penalty 300ms`, dir)
  kill(t, ship)
  await until(() => lines(`${dir}/a.ndjson`).length >= 300, 20_000, 'events flowing')
  const { execFileSync } = await import('node:child_process')
  const reader = Number(
    execFileSync('pgrep', ['-f', '-P', String(first.child.pid), '^node .*link-reader.mjs'], { encoding: 'utf8' }).trim(),
  )
  process.kill(reader, 'SIGKILL')
  await first.exited
  await until(() => lines(`${dir}/collect.rc`).length > 0, 10_000, 'collect to exit')
  t.equal(lines(`${dir}/collect.rc`)[0], '4', 'collect stops at once when its linked reader dies')
  const second = run(`exec ${tsf} collect --listen 127.0.0.1:${port} | node ${fixture('link-reader.mjs')} b.ndjson`, dir)
  kill(t, second)
  t.equal(await ship.exited, 0, ship.stderr())
  const all = [...bodies(`${dir}/a.ndjson`), ...bodies(`${dir}/b.ndjson`)]
  t.same(missing(all, 3000), [], 'nothing lost')
})

t.test('gzip batches are negotiated and counted exactly; a gzip bomb costs only its connection', async (t) => {
  const dir = t.testdir()
  const col = await startCollect(dir, '--max-batch-bytes 1M --metrics 127.0.0.1:0', 'out.ndjson')
  kill(t, col)
  const metricsPort = Number((await col.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)/))[1])
  const ship = run(`seq 1 50000 | ${tsf} ship 127.0.0.1:${col.port} --compress gzip --batch 1000`, dir)
  kill(t, ship)
  t.equal(await ship.exited, 0, ship.stderr())
  t.equal(bodies(`${dir}/out.ndjson`).length, 50000)
  const counters = ((await (await fetch(`http://127.0.0.1:${metricsPort}/metrics.json`)).json()) as { collect: Record<string, number> })
    .collect
  t.ok(counters.BatchCompressedCount! > 0, `batches arrived compressed (${counters.BatchCompressedCount})`)
  t.equal(counters.EventAcceptedCount, 50000)
  // 64 MiB of zeros in a 64 KiB gzip frame: refused when inflating past --max-batch-bytes
  const { gzipSync } = await import('node:zlib')
  const { FLAG_GZIP } = await import('../../../src/core/wire/frames.js')
  const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024))
  const c = new WireConnection(
    { kind: 'tcp', host: '127.0.0.1', port: col.port, name: 'bomb' },
    { gzip: true, connectTimeout: 5000, ackTimeout: 10_000 },
  )
  await c.open()
  ;(c as unknown as { socket: Socket }).socket.write(Buffer.concat([encodeHeader(FrameType.batch, FLAG_GZIP, 1, 1, bomb.length), bomb]))
  await col.waitFor(/does not gunzip within 1048576 bytes/)
  c.close()
  await sendOne(col.port, 'after the bomb')
  await until(() => bodies(`${dir}/out.ndjson`).includes('after the bomb'), 5000, 'a good sender after the bomb')
  t.equal(bodies(`${dir}/out.ndjson`).length, 50001)
})

t.test('SIGTERM: collect stops taking input, acks what its downstream took, exits 0; ship delivers the rest elsewhere', async (t) => {
  const dir = t.testdir()
  const { fixture, missing } = await import('../../fixtures/tcp-helpers.js')
  const a = await startCollect(dir, '', 'a.ndjson')
  const b = await startCollect(dir, '', 'b.ndjson')
  kill(t, a, b)
  const ship = run(
    `node ${fixture('link-writer.mjs')} 3000 ckpt --rate 1500 | ${tsf} ship 127.0.0.1:${a.port},127.0.0.1:${b.port} --max-penalty 300ms`,
    dir,
  )
  kill(t, ship)
  await until(
    () => lines(`${dir}/a.ndjson`).length >= 300,
    30_000,
    () =>
      `events flowing to the primary (a: ${lines(`${dir}/a.ndjson`).length}, b: ${lines(`${dir}/b.ndjson`).length}); ship: ${ship.stderr()}`,
  )
  a.kill('SIGTERM')
  t.equal(await a.exited, 0, a.stderr())
  t.match(a.stderr(), /stopped on SIGTERM/)
  t.equal(await ship.exited, 0, ship.stderr())
  t.same(missing([...bodies(`${dir}/a.ndjson`), ...bodies(`${dir}/b.ndjson`)], 3000), [])
})
