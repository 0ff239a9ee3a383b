import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { mongodbAddress } from '../../fixtures/servers.js'
import { fixture, run, tsf, type Proc } from '../../fixtures/tcp-helpers.js'
import { countDocs, dbName, eventually, findAll } from './mongo.js'

const cleanup = (t: { teardown: (fn: () => void) => void }, ...procs: Proc[]): void => t.teardown(() => procs.forEach((p) => p.kill()))

t.test(
  "Flume's classic flow: exec with -H db/collection/op=upsert → channel → ship mongodb://…/%{db}/%{collection} --timestamp-field _S",
  async (t) => {
    const address = mongodbAddress(t)
    if (!address) return
    const dir = t.testdir()
    const db = dbName('flow')
    // each run of the script prints the same 200 documents with its run number; --restart runs it again
    writeFileSync(
      `${dir}/gen.mjs`,
      `import { existsSync, readFileSync, writeFileSync } from 'node:fs'
const run = existsSync('runs') ? Number(readFileSync('runs', 'utf8')) + 1 : 1
writeFileSync('runs', String(run))
for (let i = 1; i <= 200; i++) console.log(JSON.stringify({ _id: 'doc' + i, run, _S: run === 1 ? 1700000000000 + i : new Date(1700000000000 + i).toISOString() }))
if (run >= 2) setInterval(() => {}, 1000)
`,
    )
    const pipeline = run(
      `${tsf} exec --restart --restart-delay 200ms --stderr -H db=${db} -H collection=cswuyg_test -H op=upsert --shell -- 'node gen.mjs' | ${tsf} channel --dir chan | ${tsf} ship 'mongodb://${address}/%{db}/%{collection}' --timestamp-field _S`,
      dir,
    )
    cleanup(t, pipeline)
    await eventually(
      async () => (await findAll(address, db, 'cswuyg_test')).filter((d) => d.run === 2).length === 200,
      60_000,
      () => `200 documents of the second run: ${pipeline.stderr()}`,
    )
    pipeline.kill('SIGTERM')
    await pipeline.exited
    const docs = await findAll(address, db, 'cswuyg_test')
    t.equal(docs.length, 200, 'one document per _id: the second run upserted over the first')
    t.ok(docs.every((d) => d.run === 2))
    t.ok(
      docs.every((d) => d._S instanceof Date),
      '_S is a date, from epoch ms (run 1) and ISO text (run 2)',
    )
    t.same(docs.find((d) => d._id === 'doc7')!._S, new Date(1700000000007))
    t.notMatch(pipeline.stderr(), /set aside|error/, pipeline.stderr())
  },
)

t.test('inserts: every event once with an _id from src and seq; the same events again are duplicates, not errors', async (t) => {
  const address = mongodbAddress(t)
  if (!address) return
  const dir = t.testdir()
  const db = dbName('insert')
  const ship = run(
    `node ${fixture('link-writer.mjs')} 5000 ckpt | ${tsf} ship mongodb://${address}/${db}/events --batch 300 --in-flight 3`,
    dir,
  )
  cleanup(t, ship)
  t.equal(await ship.exited, 0, ship.stderr())
  t.equal(readFileSync(`${dir}/ckpt`, 'utf8'), '5000', 'the writer saw every event acked')
  const docs = await findAll(address, db, 'events')
  t.equal(docs.length, 5000)
  t.equal(new Set(docs.map((d) => d._id)).size, 5000)
  t.same(
    docs.find((d) => d._id === 'w:42'),
    { _id: 'w:42', body: 'w event 42' },
    'a plain body is wrapped; the _id is src:seq',
  )
  // the writer sends the same (src, seq) again, as a replay after a crash would
  const again = run(
    `node ${fixture('link-writer.mjs')} 5000 ckpt2 | ${tsf} ship mongodb://${address}/${db}/events --metrics 127.0.0.1:0 --shutdown-timeout 5s`,
    dir,
  )
  cleanup(t, again)
  t.equal(await again.exited, 0, again.stderr())
  t.equal(readFileSync(`${dir}/ckpt2`, 'utf8'), '5000', 'acked: already written counts as written')
  t.equal(await countDocs(address, db, 'events'), 5000, 'still each event once')
  t.notMatch(again.stderr(), /set aside|E11000/, 'duplicates are not reported as failures')
})

t.test('dynamic routing: headers pick database and collection, :- defaults for events without them; op header per event', async (t) => {
  const address = mongodbAddress(t)
  if (!address) return
  const dir = t.testdir()
  const a = dbName('route_a')
  const b = dbName('route_b')
  const events = [
    { body: '{"_id":1,"n":1}', headers: { db: a, app: 'web' }, src: 's', seq: 1 },
    { body: '{"_id":1,"m":2}', headers: { db: a, app: 'web', op: 'upsert' }, src: 's', seq: 2 },
    { body: '{"_id":2,"n":1}', headers: { db: b }, src: 's', seq: 3 },
    { body: '{"_id":2,"k":9}', headers: { db: b, op: 'replace' }, src: 's', seq: 4 },
  ]
  writeFileSync(`${dir}/in.ndjson`, events.map((e) => JSON.stringify(e)).join('\n') + '\n')
  const ship = run(`${tsf} ship 'mongodb://${address}/%{db}/logs_%{app:-other}' < in.ndjson`, dir)
  cleanup(t, ship)
  t.equal(await ship.exited, 0, ship.stderr())
  t.same(await findAll(address, a, 'logs_web'), [{ _id: 1, n: 1, m: 2 }], 'upsert sets fields on the inserted document')
  t.same(await findAll(address, b, 'logs_other'), [{ _id: 2, k: 9 }], 'replace replaces it')
})

t.test('the same events twice in one run: each document once, the second copies counted as duplicates (--metrics)', async (t) => {
  const address = mongodbAddress(t)
  if (!address) return
  const dir = t.testdir()
  const db = dbName('dups')
  writeFileSync(
    `${dir}/in.ndjson`,
    Array.from({ length: 300 }, (_, i) => JSON.stringify({ body: `line ${i + 1}`, src: 'd', seq: i + 1 })).join('\n') + '\n',
  )
  // stdin stays open (the fifo's writer waits), so ship is still there to be asked
  const ship = run(
    `mkfifo hold; { cat in.ndjson in.ndjson; cat hold; } | exec ${tsf} ship mongodb://${address}/${db}/c --batch 100 --metrics 127.0.0.1:0`,
    dir,
  )
  cleanup(t, ship)
  const metrics = (await ship.waitFor(/metrics on (http:\/\/\S+)\/metrics /))[1]
  const counters = async (): Promise<Record<string, number>> =>
    ((await (await fetch(`${metrics}/metrics.json`)).json()) as { ship: Record<string, number> }).ship
  await eventually(
    async () => (await counters()).EventDrainSuccessCount === 600,
    30_000,
    () => `600 drained: ${ship.stderr()}`,
  )
  const c = await counters()
  t.equal(c.EventTakeSuccessCount, 600)
  t.equal(c.EventDuplicateCount, 300, 'the second copies met their own _id')
  t.equal(c.EventWriteFailCount ?? 0, 0, 'and are not failures')
  t.equal(c.BatchCompleteCount, 6, 'six sends of --batch 100')
  t.ok(c.ConnectionCreatedCount >= 1)
  t.equal(await countDocs(address, db, 'c'), 300)
  writeFileSync(`${dir}/hold`, '')
  t.equal(await ship.exited, 0, ship.stderr())
})

t.test('writes to one _id stay in input order with several sends in flight', async (t) => {
  const address = mongodbAddress(t)
  if (!address) return
  const dir = t.testdir()
  const db = dbName('order')
  const lines: string[] = []
  for (let i = 1; i <= 600; i++) {
    // three documents rewritten in turn, by replace and upsert; others inserted between them
    lines.push(
      JSON.stringify({
        body: JSON.stringify({ _id: `k${i % 3}`, n: i, [`f${i % 2}`]: i }),
        headers: { op: i % 2 ? 'replace' : 'upsert' },
        src: 'o',
        seq: i,
      }),
    )
    lines.push(JSON.stringify({ body: JSON.stringify({ i }), src: 'p', seq: i }))
  }
  writeFileSync(`${dir}/in.ndjson`, lines.join('\n') + '\n')
  const ship = run(`${tsf} ship mongodb://${address}/${db}/c --batch 5 --in-flight 8 < in.ndjson`, dir)
  cleanup(t, ship)
  t.equal(await ship.exited, 0, ship.stderr())
  const docs = await findAll(address, db, 'c')
  t.equal(docs.length, 603, '600 inserts and 3 rewritten documents')
  const k = Object.fromEntries(docs.filter((d) => String(d._id).startsWith('k')).map((d) => [d._id, d]))
  // last writes: k0 by 600 (upsert, after replace 597), k1 by 598 (upsert after replace 595), k2 by 599 (replace)
  t.same(k.k0, { _id: 'k0', n: 600, f1: 597, f0: 600 }, 'upsert $set over the last replace')
  t.same(k.k1, { _id: 'k1', n: 598, f1: 595, f0: 598 })
  t.same(k.k2, { _id: 'k2', n: 599, f1: 599 }, 'the last replace, whole')
})

t.test('an _id holding query operators names only itself: an upsert or replace never reaches another document', async (t) => {
  const address = mongodbAddress(t)
  if (!address) return
  const dir = t.testdir()
  const db = dbName('inject')
  const events = [
    { body: '{"_id":"victim","owner":"alice"}', src: 's', seq: 1 },
    { body: '{"_id":{"$gt":""},"owner":"mallory"}', headers: { op: 'upsert' }, src: 's', seq: 2 },
    { body: '{"_id":{"$ne":null},"owner":"mallory"}', headers: { op: 'replace' }, src: 's', seq: 3 },
  ]
  writeFileSync(`${dir}/in.ndjson`, events.map((e) => JSON.stringify(e)).join('\n') + '\n')
  const ship = run(`${tsf} ship mongodb://${address}/${db}/c --rejects rejects.ndjson < in.ndjson`, dir)
  cleanup(t, ship)
  t.equal(await ship.exited, 0, ship.stderr())
  const docs = await findAll(address, db, 'c')
  t.same(
    docs.find((d) => d._id === 'victim'),
    { _id: 'victim', owner: 'alice' },
    'the other document is untouched',
  )
  // a real MongoDB refuses an _id with $-fields (set aside); the test server stores it as a value
  t.ok(docs.length === 1 || docs.every((d) => d._id === 'victim' || d.owner === 'mallory'), JSON.stringify(docs))
})
