import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { mongodbAddress } from '../../fixtures/servers.js'
import { run, tsf, type Proc } from '../../fixtures/tcp-helpers.js'
import { dbName, findAll } from './mongo.js'

const cleanup = (t: { teardown: (fn: () => void) => void }, ...procs: Proc[]): void => t.teardown(() => procs.forEach((p) => p.kill()))

t.test('bad events are set aside one line each, kept in --rejects, and never stop the rest', async (t) => {
  const address = mongodbAddress(t)
  if (!address) return
  const dir = t.testdir()
  const db = dbName('bad')
  const events = [
    { body: '{"_id":"good1"}', headers: { db, collection: 'c' }, src: 's', seq: 1 },
    { body: '{"n":1}', headers: { db, collection: 'c', op: 'upsert' }, src: 's', seq: 2 },
    { body: '{"_id":"x"}', headers: { db: 'no/such.db', collection: 'c' }, src: 's', seq: 3 },
    { body: '{"_id":[1,2]}', headers: { db, collection: 'c' }, src: 's', seq: 4 },
    { body: '{"_id":"y"}', headers: { collection: 'c' }, src: 's', seq: 5 },
    { body: '{"_id":"z"}', headers: { db, collection: 'c', op: 'remove' }, src: 's', seq: 6 },
    { body: '{"_id":"good2"}', headers: { db, collection: 'c' }, src: 's', seq: 7 },
  ]
  writeFileSync(`${dir}/in.ndjson`, events.map((e) => JSON.stringify(e)).join('\n') + '\n')
  const ship = run(`${tsf} ship 'mongodb://${address}/%{db}/%{collection}' --rejects rejects.ndjson < in.ndjson`, dir)
  cleanup(t, ship)
  t.equal(await ship.exited, 0, ship.stderr())
  t.same(
    (await findAll(address, db, 'c')).map((d) => d._id),
    ['good1', 'good2'],
    'the good ones are written',
  )
  const said = ship
    .stderr()
    .split('\n')
    .filter((l) => l.includes('set aside:'))
  t.equal(said.length, 5, ship.stderr())
  t.match(ship.stderr(), /event s:2 set aside: upsert needs the document's own _id/)
  t.match(ship.stderr(), /no\/such\.db\.c: event s:3 set aside: headers name an invalid namespace: database name 'no\/such\.db' holds '\/'/)
  t.match(
    ship.stderr(),
    /\.c: event s:4 set aside: The '_id' value cannot be of type array \(code 53\) \(kept in rejects\.ndjson\)/,
    'what the server refused, with its code',
  )
  t.match(ship.stderr(), /event s:5 set aside: no header 'db' to name the database/)
  t.match(ship.stderr(), /event s:6 set aside: header op='remove'/)
  t.match(ship.stderr(), /5 events set aside in rejects\.ndjson/)
  t.notMatch(ship.stderr(), /at .*\.js:\d+/, 'no stack trace')
  const rejects = readFileSync(`${dir}/rejects.ndjson`, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { seq: number; body: string; mongodb_error: string })
  t.same(rejects.map((r) => r.seq).sort(), [2, 3, 4, 5, 6], 'each refused event is kept whole')
  t.equal(rejects.find((r) => r.seq === 4)!.body, '{"_id":[1,2]}')
  t.match(rejects.find((r) => r.seq === 4)!.mongodb_error, /cannot be of type array/)
  // without --rejects the event itself is in its line
  const bare = run(`${tsf} ship 'mongodb://${address}/%{db}/%{collection}' < in.ndjson`, dir)
  cleanup(t, bare)
  t.equal(await bare.exited, 0, bare.stderr())
  t.match(bare.stderr(), /event s:2 set aside: upsert needs the document's own _id, and this one has none: \{"body":"\{\\"n\\":1\}"/)
  t.match(bare.stderr(), /5 events set aside \(their lines are above\)/)
})

t.test('an unreachable server: a clear error naming it and the unacked count, exit 1, no hang', async (t) => {
  const dir = t.testdir()
  // --connect-timeout long enough for the refusal to be seen under load: with 300 ms, a busy machine
  // ended server selection before the driver's monitor saw ECONNREFUSED ("<monitor> ... closed")
  const ship = run(`seq 1 10 | ${tsf} ship mongodb://127.0.0.1:1/db/c --connect-timeout 3s --shutdown-timeout 5s`, dir)
  cleanup(t, ship)
  t.equal(await ship.exited, 1, ship.stderr())
  t.match(ship.stderr(), /mongodb:\/\/127\.0\.0\.1:1\/db\/c: connection refused \(127\.0\.0\.1:1\); retrying, nothing is dropped/)
  t.match(ship.stderr(), /error: delivery failed: 10 events unacked after 5000 ms .*connection refused/)
  t.notMatch(ship.stderr(), /at .*\.js:\d+/, 'no stack trace')
})

t.test('credentials the server cannot check: authentication failed, one line, exit 1, nothing acked, no retrying forever', async (t) => {
  const address = mongodbAddress(t)
  if (!address) return
  const dir = t.testdir()
  // the test server has no authentication: its handshake refuses saslStart, as no retry can fix
  const ship = run(`seq 1 10 | ${tsf} ship mongodb://ann:secret@${address}/${dbName('auth')}/c --shutdown-timeout 60s`, dir)
  cleanup(t, ship)
  t.equal(await ship.exited, 1, ship.stderr())
  t.match(
    ship.stderr(),
    /error: mongodb:\/\/ann:\*\*\*@[^ ]+: authentication failed: [^\n]*saslStart[^\n]*; 10 events stay unacked upstream/,
  )
  t.notMatch(ship.stderr(), /secret|retrying|at .*\.js:\d+/, 'no password, no retries, no stack trace')
})

t.test('SIGTERM while MongoDB is unreachable: says what stays upstream, exits 0', async (t) => {
  const dir = t.testdir()
  const ship = run(`exec ${tsf} ship mongodb://127.0.0.1:1/db/c --connect-timeout 300ms --shutdown-timeout 500ms < /dev/zero`, dir)
  cleanup(t, ship)
  await ship.waitFor(/connection refused/)
  ship.kill('SIGTERM')
  t.equal(await ship.exited, 0, ship.stderr())
  t.match(ship.stderr(), /events stay unacked upstream/)
})

t.test('usage errors exit 2 with one line', async (t) => {
  const dir = t.testdir()
  for (const args of [
    'mongodb://h/db',
    'mongodb://h/bad.db/c',
    "'mongodb://h/%{db/c'",
    'mongodb://h/d/c mongodb://h/d/e',
    'mongodb://h/d/c --op delete',
    'mongodb://h/d/c --balance random',
    'mongodb://h/d/c --acks 1',
    'mongodb://h/d/c --timestamp-field a..b',
    "'mongodb://h/d/c?tls=maybe'",
    // unacknowledged writes: nothing would confirm a batch before it is acked upstream
    "'mongodb://h/d/c?w=0'",
    "'mongodb://h/d/c?W=0&journal=true'",
    'c:1 --timestamp-field ts',
    'kafka://b/t --op upsert',
  ]) {
    const p = run(`${tsf} ship ${args} < /dev/null`, dir)
    t.equal(await p.exited, 2, `ship ${args}: ${p.stderr().trim()}`)
    t.equal(p.stderr().trim().split('\n').length, 1, `one line: ${p.stderr().trim()}`)
  }
})

t.test('a document larger than MongoDB takes is found in its send (halving) and set aside; the rest is written', async (t) => {
  const address = mongodbAddress(t)
  if (!address) return
  const dir = t.testdir()
  const db = dbName('big')
  const big = 'x'.repeat(17 * 1024 * 1024)
  const lines = [1, 2, 3, 4, 5, 6].map((i) => JSON.stringify({ body: JSON.stringify(i === 3 ? { big } : { n: i }), src: 's', seq: i }))
  writeFileSync(`${dir}/in.ndjson`, lines.join('\n') + '\n')
  const ship = run(`${tsf} ship mongodb://${address}/${db}/c --max-line 40M --rejects rejects.ndjson < in.ndjson`, dir)
  cleanup(t, ship)
  t.equal(await ship.exited, 0, ship.stderr())
  t.same(
    (await findAll(address, db, 'c')).map((d) => d._id),
    ['s:1', 's:2', 's:4', 's:5', 's:6'],
  )
  t.match(ship.stderr(), /event s:3 set aside: Document is larger than the maximum size 16777216 \(kept in rejects\.ndjson\)/)
  const kept = JSON.parse(readFileSync(`${dir}/rejects.ndjson`, 'utf8')) as { seq: number; body: string }
  t.equal(kept.seq, 3)
  t.equal(kept.body.length, big.length + 10, 'the whole event is kept')
})
