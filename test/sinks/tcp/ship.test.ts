import t from 'tap'
import { readFileSync } from 'node:fs'
import { bodies, fixture, missing, run, seqOf, startCollect, tsf, until, type Proc } from '../../fixtures/tcp-helpers.js'

const cleanup = (t: Tap.Test, ...procs: Proc[]): void => t.teardown(() => procs.forEach((p) => p.kill()))
declare namespace Tap {
  type Test = { teardown: (fn: () => void) => void }
}

t.test('plain lines from stdin reach the collector exactly once, acked through the downstream link', async (t) => {
  const dir = t.testdir()
  // collect's downstream is a tsf reader that fsyncs before acking: the acked path end to end
  const col = run(`exec ${tsf} collect --listen 127.0.0.1:0 | node ${fixture('link-reader.mjs')} out.ndjson`, dir)
  cleanup(t, col)
  const port = Number((await col.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1])
  const ship = run(`seq 1 20000 | ${tsf} ship 127.0.0.1:${port} --batch 500`, dir)
  cleanup(t, ship)
  t.equal(await ship.exited, 0, ship.stderr())
  const got = bodies(`${dir}/out.ndjson`)
  t.equal(got.length, 20000, 'every line once')
  t.equal(new Set(got).size, 20000, 'no duplicates without failures')
  t.same(missing(got, 20000, ''), [])
})

t.test(
  'kill -9 of the collector mid-stream: ship re-sends, the upstream checkpoint never passes what was acked, nothing is lost',
  async (t) => {
    const dir = t.testdir()
    let col = await startCollect(dir, '', 'a.ndjson')
    const port = col.port
    cleanup(t, col)
    const ship = run(`node ${fixture('link-writer.mjs')} 3000 ckpt --rate 1000 | ${tsf} ship 127.0.0.1:${port} --max-penalty 500ms`, dir)
    cleanup(t, ship)
    await until(() => bodies(`${dir}/a.ndjson`).length >= 500, 20_000, 'first events')
    col.kill('SIGKILL')
    await col.exited
    const acked = Number(readFileSync(`${dir}/ckpt`, 'utf8'))
    t.ok(acked <= bodies(`${dir}/a.ndjson`).length, 'the upstream checkpoint is within what the collector wrote')
    col = await startCollect(dir, '', 'b.ndjson', port)
    cleanup(t, col)
    t.equal(await ship.exited, 0, ship.stderr())
    const all = [...bodies(`${dir}/a.ndjson`), ...bodies(`${dir}/b.ndjson`)]
    t.same(missing(all, 3000), [], 'every event delivered')
    t.equal(readFileSync(`${dir}/ckpt`, 'utf8'), '3000', 'the writer saw all acked')
    t.match(ship.stderr(), /127\.0\.0\.1:\d+: connection (refused|closed|reset)/, 'the failure is reported once with the destination')
  },
)

t.test('failover: a ship that starts while the primary is down says where its events go', async (t) => {
  const dir = t.testdir()
  const b = await startCollect(dir, '', 'b.ndjson')
  cleanup(t, b)
  // after a restart this is where what the last run left unacked goes: an operator (and a check
  // of copies on two collectors) must see it in the log
  const ship = run(`seq 1 50 | ${tsf} ship 127.0.0.1:1,127.0.0.1:${b.port} --max-penalty 300ms`, dir)
  cleanup(t, ship)
  t.equal(await ship.exited, 0, ship.stderr())
  t.match(ship.stderr(), new RegExp(`sending to 127\\.0\\.0\\.1:${b.port} \\(127\\.0\\.0\\.1:1 is down\\)`))
  t.same(missing(bodies(`${dir}/b.ndjson`), 50, ''), [], 'every line on the secondary')
})

t.test('failover: the secondary takes over when the primary dies, traffic returns when it is back', async (t) => {
  const dir = t.testdir()
  let a = await startCollect(dir, '', 'a1.ndjson')
  const b = await startCollect(dir, '', 'b.ndjson')
  cleanup(t, a, b)
  const ship = run(
    `node ${fixture('link-writer.mjs')} 6000 ckpt --rate 1000 | ${tsf} ship 127.0.0.1:${a.port},127.0.0.1:${b.port} --max-penalty 300ms`,
    dir,
  )
  cleanup(t, ship)
  await until(
    () => bodies(`${dir}/a1.ndjson`).length >= 300,
    30_000,
    () => `primary gets events; ship: ${ship.stderr()}`,
  )
  t.equal(bodies(`${dir}/b.ndjson`).length, 0, 'nothing goes to the secondary while the primary lives')
  a.kill('SIGKILL')
  await a.exited
  await until(() => bodies(`${dir}/b.ndjson`).length >= 300, 20_000, 'secondary takes over')
  a = await startCollect(dir, '', 'a2.ndjson', a.port)
  cleanup(t, a)
  await until(() => bodies(`${dir}/a2.ndjson`).length >= 300, 20_000, 'traffic returns to the primary')
  const bAtReturn = bodies(`${dir}/b.ndjson`).length
  t.equal(await ship.exited, 0, ship.stderr())
  t.ok(bodies(`${dir}/b.ndjson`).length - bAtReturn < 300, 'the secondary gets (almost) nothing once the primary is back')
  const all = [...bodies(`${dir}/a1.ndjson`), ...bodies(`${dir}/b.ndjson`), ...bodies(`${dir}/a2.ndjson`)]
  t.same(missing(all, 6000), [])
  // per collector, one stream's events arrive in order: never an event before an earlier one
  // that this collector had not seen yet (re-sends of seen ones are fine)
  for (const f of ['a1', 'b', 'a2']) {
    const seqs = bodies(`${dir}/${f}.ndjson`).map(seqOf)
    let high = 0
    const seen = new Set<number>()
    const outOfOrder = seqs.filter((s) => {
      const bad = s < high && !seen.has(s)
      seen.add(s)
      high = Math.max(high, s)
      return bad
    })
    t.same(outOfOrder, [], `${f}: in order`)
  }
})

t.test('--balance round-robin spreads batches over both collectors', async (t) => {
  const dir = t.testdir()
  const a = await startCollect(dir, '', 'a.ndjson')
  const b = await startCollect(dir, '', 'b.ndjson')
  cleanup(t, a, b)
  const ship = run(`seq 1 20000 | ${tsf} ship 127.0.0.1:${a.port},127.0.0.1:${b.port} --balance round-robin --batch 100`, dir)
  cleanup(t, ship)
  t.equal(await ship.exited, 0, ship.stderr())
  const na = bodies(`${dir}/a.ndjson`).length
  const nb = bodies(`${dir}/b.ndjson`).length
  t.equal(na + nb, 20000)
  t.ok(na > 2000 && nb > 2000, `both carry a fair share (${na} / ${nb})`)
})

t.test('at the end of input with no collector: exit 1 naming how many stay unacked', async (t) => {
  const dir = t.testdir()
  const ship = run(`seq 1 10 | ${tsf} ship 127.0.0.1:1 --shutdown-timeout 1s`, dir)
  cleanup(t, ship)
  t.equal(await ship.exited, 1)
  t.match(ship.stderr(), /delivery failed: 10 events unacked .*127\.0\.0\.1:1: connection refused/)
  t.notMatch(ship.stderr(), /at .*\.js:\d+/, 'no stack trace')
})

t.test('SIGTERM while the collector is down: reports what stays upstream, exits 0', async (t) => {
  const dir = t.testdir()
  const ship = run(`exec ${tsf} ship 127.0.0.1:1 --shutdown-timeout 500ms < /dev/zero`, dir)
  cleanup(t, ship)
  await ship.waitFor(/connection refused/)
  await ship.waitFor(/cut into pieces/) // it holds input now
  ship.kill('SIGTERM')
  t.equal(await ship.exited, 0, ship.stderr())
  t.match(ship.stderr(), /events stay unacked upstream/)
})

t.test('usage errors exit 2', async (t) => {
  const dir = t.testdir()
  for (const args of ['', 'nohost', 'a:1 --balance sideways', 'a:1 --linger forever', 'a:1 --failover --balance random']) {
    const p = run(`${tsf} ship ${args} < /dev/null`, dir)
    t.equal(await p.exited, 2, `ship ${args}: ${p.stderr().trim()}`)
  }
})

t.test('a collector that accepts and handshakes but never acks is detected; the batch goes to the next one', async (t) => {
  const dir = t.testdir()
  // a black hole speaking the real handshake, then swallowing every frame
  const { createServer } = await import('node:net')
  const hs = await import('../../../src/core/wire/handshake.js')
  const swallowed: number[] = []
  const hole = createServer((s) => {
    const lines = new hs.LineReader()
    let step = 0
    s.on('error', () => undefined)
    s.on('data', (chunk: Buffer) => {
      if (step === 2) return void swallowed.push(chunk.length)
      lines.push(chunk)
      for (let l = lines.next(); l !== undefined && step < 2; l = lines.next()) {
        if (step === 0) s.write(hs.challengeLine(hs.newNonce(), false, false))
        else s.write(hs.okLine(undefined))
        step++
      }
    })
  }).listen(0, '127.0.0.1')
  await new Promise((r) => hole.once('listening', r))
  t.teardown(() => hole.close())
  const holePort = (hole.address() as { port: number }).port
  const good = await startCollect(dir, '', 'good.ndjson')
  cleanup(t, good)
  const ship = run(`seq 1 100 | ${tsf} ship 127.0.0.1:${holePort},127.0.0.1:${good.port} --ack-timeout 1s --max-penalty 60s`, dir)
  cleanup(t, ship)
  t.equal(await ship.exited, 0, ship.stderr())
  t.ok(swallowed.length > 0, 'the black hole got the batch first')
  t.match(ship.stderr(), new RegExp(`127\\.0\\.0\\.1:${holePort}: no ack within 1000 ms`))
  t.same(
    bodies(`${dir}/good.ndjson`).map(Number),
    Array.from({ length: 100 }, (_, i) => i + 1),
    'all of it, in order, at the next collector',
  )
})

t.test('the linked upstream writer dies: ship finishes what it holds and exits 3', async (t) => {
  const dir = t.testdir()
  const col = await startCollect(dir, '', 'out.ndjson')
  cleanup(t, col)
  const pipeline = run(`node ${fixture('link-writer.mjs')} 100000000 ckpt --forever --rate 2000 | ${tsf} ship 127.0.0.1:${col.port}`, dir)
  cleanup(t, pipeline)
  await until(() => bodies(`${dir}/out.ndjson`).length >= 200, 20_000, 'events flowing')
  const writerPid = Number(
    // the writer is a child of our own shell: find it there and kill it by id
    (await import('node:child_process'))
      .execFileSync('pgrep', ['-f', '-P', String(pipeline.child.pid), '^node .*link-writer.mjs'], { encoding: 'utf8' })
      .trim(),
  )
  process.kill(writerPid, 'SIGKILL')
  t.equal(await pipeline.exited, 3, pipeline.stderr())
  t.match(pipeline.stderr(), /upstream went away/)
})

t.test('invalid UTF-8, NUL bytes, broken JSON and an oversize line arrive intact', async (t) => {
  const dir = t.testdir()
  const col = await startCollect(dir, '', 'out.ndjson')
  cleanup(t, col)
  const { writeFileSync } = await import('node:fs')
  const big = 'y'.repeat(3000)
  writeFileSync(
    `${dir}/in.txt`,
    Buffer.concat([Buffer.from('ok\n'), Buffer.from([0x61, 0xff, 0x00, 0x62, 0x0a]), Buffer.from(`{"body": broken\n${big}\n`)]),
  )
  const ship = run(`${tsf} ship 127.0.0.1:${col.port} --max-line 1K < in.txt`, dir)
  cleanup(t, ship)
  t.equal(await ship.exited, 0, ship.stderr())
  const events = (await import('../../fixtures/tcp-helpers.js'))
    .lines(`${dir}/out.ndjson`)
    .map((l) => JSON.parse(l) as { body: string; body64?: string; cont?: boolean })
  t.equal(events[0]!.body, 'ok')
  t.same(Buffer.from(events[1]!.body64!, 'base64'), Buffer.from([0x61, 0xff, 0x00, 0x62]), 'exact bytes in body64')
  t.equal(events[2]!.body, '{"body": broken')
  const pieces = events.slice(3)
  t.equal(pieces.map((e) => e.body).join(''), big, 'the oversize line, whole across its pieces')
  t.same(
    pieces.map((e) => Boolean(e.cont)),
    [true, true, false],
  )
})

t.test('kill -9 of ship between tsf tail and a collector: the restarted pipeline delivers every line', async (t) => {
  const dir = t.testdir()
  const { writeFileSync } = await import('node:fs')
  const { execFileSync } = await import('node:child_process')
  const n = 30000
  writeFileSync(`${dir}/app.log`, Array.from({ length: n }, (_, i) => `app line ${i + 1}\n`).join(''))
  const col = await startCollect(dir, '', 'out.ndjson')
  cleanup(t, col)
  // small batches, one in flight: slow enough that the kill lands mid-stream
  const first = run(`${tsf} tail --state st app.log | ${tsf} ship 127.0.0.1:${col.port} --batch 200 --in-flight 1`, dir)
  cleanup(t, first)
  await until(
    () => bodies(`${dir}/out.ndjson`).length >= 2000,
    30_000,
    () => `first events; ${first.stderr()}`,
  )
  const ship = Number(execFileSync('pgrep', ['-f', '-P', String(first.child.pid), '^node .*tsf.js ship'], { encoding: 'utf8' }).trim())
  process.kill(ship, 'SIGKILL')
  await first.exited
  const before = bodies(`${dir}/out.ndjson`).length
  const second = run(`${tsf} tail --state st app.log | ${tsf} ship 127.0.0.1:${col.port}`, dir)
  cleanup(t, second)
  t.equal(await second.exited, 0, second.stderr())
  const got = bodies(`${dir}/out.ndjson`)
  t.ok(before < n, `the kill landed mid-stream (${before} of ${n} delivered before it)`)
  t.same(missing(got, n, 'app line '), [], 'every line delivered')
  // only what reached the collector but was not yet acked back to tail can come twice
  t.ok(got.length - n <= before, `re-sent lines are bounded by what was in flight (${got.length - n} <= ${before})`)
  t.equal(new Set(got).size, n, 'duplicates are exact copies, removable on (src, seq)')
})
