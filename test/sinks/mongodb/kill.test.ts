import t from 'tap'
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { mongodbAddress } from '../../fixtures/servers.js'
import { missing, run, tsf, type Proc } from '../../fixtures/tcp-helpers.js'
import { countDocs, dbName, eventually, findAll } from './mongo.js'

const cleanup = (t: { teardown: (fn: () => void) => void }, ...procs: Proc[]): void => t.teardown(() => procs.forEach((p) => p.kill()))

t.test('kill -9 of ship between tsf tail and MongoDB: the restarted pipeline writes every line exactly once', async (t) => {
  const address = mongodbAddress(t)
  if (!address) return
  const dir = t.testdir()
  const db = dbName('kill')
  const n = 20000
  writeFileSync(`${dir}/app.log`, Array.from({ length: n }, (_, i) => `app line ${i + 1}\n`).join(''))
  // small sends: slow enough that the kill lands mid-stream
  const first = run(`${tsf} tail --state st app.log | ${tsf} ship mongodb://${address}/${db}/lines --batch 100 --in-flight 2`, dir)
  cleanup(t, first)
  await eventually(
    async () => (await countDocs(address, db, 'lines')) >= 2000,
    60_000,
    () => `the first documents: ${first.stderr()}`,
  )
  const ship = Number(execFileSync('pgrep', ['-f', '-P', String(first.child.pid), '^node .*tsf.js ship'], { encoding: 'utf8' }).trim())
  process.kill(ship, 'SIGKILL')
  await first.exited
  const before = await countDocs(address, db, 'lines')
  const second = run(`${tsf} tail --state st app.log | ${tsf} ship mongodb://${address}/${db}/lines --metrics 127.0.0.1:0`, dir)
  cleanup(t, second)
  await eventually(
    async () => (await countDocs(address, db, 'lines')) >= n,
    120_000,
    () => `every line: ${second.stderr()}`,
  )
  second.kill('SIGTERM')
  await second.exited
  const docs = await findAll(address, db, 'lines')
  t.ok(before < n, `the kill landed mid-stream (${before} of ${n} in MongoDB before it)`)
  t.same(
    missing(
      docs.map((d) => String(d.body)),
      n,
      'app line ',
    ),
    [],
    'every line written',
  )
  t.equal(docs.length, n, 'and each exactly once: re-sent lines hit their own _id')
  t.notMatch(second.stderr(), /set aside/)
})
