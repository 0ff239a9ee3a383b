import t from 'tap'
import { run, startCollect, tsf, until, lines } from '../fixtures/tcp-helpers.js'

// -H K=V on channel, ship and collect: every stage adds its static headers, none replaces one the
// event already has (Flume's static interceptor, preserveExisting).
t.test('-H on channel, ship and collect: each adds, none overwrites', async (t) => {
  const dir = t.testdir()
  const col = await startCollect(dir, '-H collect=c1 -H env=dc', 'out.ndjson')
  t.teardown(() => col.kill())
  const agent = run(
    `printf 'one\\ntwo\\n' | ${tsf} channel --dir q -H env=prod -H queued=yes | ${tsf} ship 127.0.0.1:${col.port} -H shipped=yes`,
    dir,
  )
  t.teardown(() => agent.kill())
  t.equal(await agent.exited, 0, agent.stderr())
  await until(() => lines(`${dir}/out.ndjson`).length >= 2, 20_000, 'both events')
  const events = lines(`${dir}/out.ndjson`).map((l) => JSON.parse(l) as { body: string; headers: Record<string, string> })
  t.same(
    events.map((e) => e.body),
    ['one', 'two'],
  )
  for (const e of events) t.same(e.headers, { env: 'prod', queued: 'yes', shipped: 'yes', collect: 'c1' })
})

t.test('-H on a read-only channel is refused: it appends nothing', async (t) => {
  const dir = t.testdir()
  const p = run(`${tsf} channel --dir q --read-only -H a=b`, dir)
  t.equal(await p.exited, 2)
  t.match(p.stderr(), /-H sets headers on events appended/)
})
