import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { freePort as deadPort } from '../../fixtures/pipelines.js'
import { bodies, fixture, run, startCollect, tsf, until, type Proc } from '../../fixtures/tcp-helpers.js'

// ship --best-effort (Flume OG's agentBESink): the source is acked at once and never waits; what
// the collectors cannot take is dropped, counted and reported, within ship's window.
const W = `node ${fixture('link-writer.mjs')}`
const cleanup = (t: { teardown: (fn: () => void) => void }, ...procs: Proc[]): void => t.teardown(() => procs.forEach((p) => p.kill()))
const dropped = (stderr: string): number => Math.max(0, ...[...stderr.matchAll(/dropped (\d+) event/g)].map((m) => Number(m[1])))

t.test('with the collector up, best effort delivers everything and drops nothing', async (t) => {
  const dir = t.testdir()
  const col = await startCollect(dir, '', 'out.ndjson')
  cleanup(t, col)
  const ship = run(`${W} 20000 ck | ${tsf} ship 127.0.0.1:${col.port} --best-effort`, dir)
  cleanup(t, ship)
  t.equal(await ship.exited, 0, ship.stderr())
  await until(() => bodies(`${dir}/out.ndjson`).length >= 20000, 20_000, 'every event at the collector')
  t.equal(new Set(bodies(`${dir}/out.ndjson`)).size, 20000)
  t.notMatch(ship.stderr(), /dropped/)
})

t.test('with no collector at all, the source never waits: all acked upstream, all dropped, counted, exit 0', async (t) => {
  const dir = t.testdir()
  const port = await deadPort()
  // an end-to-end ship would never ack these: the writer's checkpoint would stay at 0
  const ship = run(`${W} 20000 ck | ${tsf} ship 127.0.0.1:${port} --best-effort --shutdown-timeout 1s --max-penalty 200ms`, dir)
  cleanup(t, ship)
  t.equal(await ship.exited, 0, ship.stderr())
  t.equal(readFileSync(`${dir}/ck`, 'utf8'), '20000', 'the writer checkpointed everything')
  t.match(ship.stderr(), /mode acked unacked 0/, 'acked by ship, not checkpointed on write')
  t.equal(dropped(ship.stderr()), 20000, 'every event counted as dropped')
  t.match(ship.stderr(), /dropped 20000 event\(s\) in all/, 'the last report is the total, said as such')
})

t.test('a collector outage: drops counted while it is down, delivery resumes when it is back, nothing unaccounted', async (t) => {
  const dir = t.testdir()
  let col = await startCollect(dir, '', 'a.ndjson')
  cleanup(t, col)
  const port = col.port
  // three phases of input, each released by the test: before, during and after the outage; the
  // second is more than ship's window (4 MiB at least)
  const waitFor = (file: string): string => `while [ ! -e ${file} ]; do sleep 0.05; done`
  const seq = (from: number, to: number): string =>
    `seq -f 'line %.0f, long enough for the second phase to be several times the window' ${from} ${to}`
  const input = `{ ${seq(1, 3000)}; ${waitFor('go2')}; ${seq(3001, 400000)}; ${waitFor('go3')}; ${seq(400001, 410000)}; }`
  const total = 410000
  const ship = run(`${input} | ${tsf} ship 127.0.0.1:${port} --best-effort --max-penalty 200ms`, dir)
  cleanup(t, ship)
  await until(() => bodies(`${dir}/a.ndjson`).length >= 3000, 30_000, 'the first phase delivered')
  col.kill('SIGKILL')
  await col.exited
  writeFileSync(`${dir}/go2`, '')
  await until(
    () => /dropped \d+ event/.test(ship.stderr()),
    30_000,
    () => `drops reported: ${ship.stderr()}`,
  )
  col = await startCollect(dir, '', 'b.ndjson', port)
  cleanup(t, col)
  writeFileSync(`${dir}/go3`, '')
  t.equal(await ship.exited, 0, ship.stderr())
  const b = bodies(`${dir}/b.ndjson`)
  const delivered = new Set([...bodies(`${dir}/a.ndjson`), ...b]).size
  const lost = dropped(ship.stderr())
  t.ok(lost > 0 && lost < total, `some dropped (${lost})`)
  t.ok(b.length > 0, 'delivery resumed after the outage')
  t.ok(delivered + lost >= total, `every event delivered or counted as dropped (${delivered} + ${lost} of ${total})`)
})

t.test('at the end of the input, best effort says it is sending what it already acked, not waiting for acks', async (t) => {
  const dir = t.testdir()
  const port = await deadPort()
  const ship = run(`${W} 100 ck | ${tsf} ship 127.0.0.1:${port} --best-effort --shutdown-timeout 3s --max-penalty 200ms`, dir)
  cleanup(t, ship)
  t.equal(await ship.exited, 0, ship.stderr())
  t.match(
    ship.stderr(),
    /end of input: sending the last 100 events for up to 3000 ms \(already acked upstream, --best-effort: what the collectors do not take by then is dropped\)/,
  )
  t.notMatch(ship.stderr(), /to be acked/)
  t.match(ship.stderr(), /dropped 100 event\(s\) in all/)
})
