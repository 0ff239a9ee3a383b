import t from 'tap'
import { kafkaBrokers, uniqueName } from '../../fixtures/servers.js'
import { bodies, lines, missing, run, tsf, until } from '../../fixtures/tcp-helpers.js'
import { createTopic, produce } from '../../sinks/kafka/kafka.js'
import { cleanup, rolledLines, stopCollector } from './procs.js'

t.test('file → ship kafka:// → collect --from kafka:// → roll: every line exactly once', async (t) => {
  const brokers = kafkaBrokers(t)
  if (!brokers) return
  const dir = t.testdir()
  const topic = uniqueName('e2e')
  await createTopic(brokers, topic, 3)
  const ship = run(`seq 1 20000 | ${tsf} ship kafka://${brokers}/${topic}`, dir)
  cleanup(t, ship)
  t.equal(await ship.exited, 0, ship.stderr())
  const col = run(`${tsf} collect --from kafka://${brokers}/${topic} --group ${uniqueName('g')} | ${tsf} roll out`, dir)
  cleanup(t, col)
  await until(
    () => rolledLines(`${dir}/out`).length >= 20000,
    90_000,
    () => `20000 rolled lines (have ${rolledLines(`${dir}/out`).length}): ${col.stderr()}`,
  )
  await stopCollector(col)
  t.equal(await col.exited, 0, col.stderr())
  const got = rolledLines(`${dir}/out`)
  t.equal(got.length, 20000, 'exact count')
  t.same(missing(got, 20000, ''), [])
  t.match(col.stderr(), /all events acked downstream and their offsets committed/)
})

t.test(
  'records become events: tsf events as they are, anything else as the body; topic, partition, offset and key in headers',
  async (t) => {
    const brokers = kafkaBrokers(t)
    if (!brokers) return
    const dir = t.testdir()
    const topic = uniqueName('shapes')
    await createTopic(brokers, topic)
    await produce(brokers, topic, [
      {
        key: 'k1',
        value: JSON.stringify({ body: 'a tsf event', ts: 5, headers: { app: 'web' }, src: 'agent-1', seq: 7, _ack: 'stale.cursor.1' }),
      },
      { key: null, value: 'plain text' },
      { key: Buffer.from([0xff, 0x00]).toString('latin1'), value: Buffer.from([0x61, 0xff, 0x62]) },
      { value: '{"broken json' },
      { value: null },
    ])
    const col = run(`exec ${tsf} collect --from kafka://${brokers}/${topic} --group ${uniqueName('g')} > out.ndjson`, dir)
    cleanup(t, col)
    await until(() => lines(`${dir}/out.ndjson`).length >= 5, 30_000, 'five events')
    col.kill('SIGTERM')
    t.equal(await col.exited, 0, col.stderr())
    const events = lines(`${dir}/out.ndjson`).map((l) => JSON.parse(l) as Record<string, unknown> & { headers: Record<string, string> })
    t.equal(events.length, 5)
    t.match(events[0], {
      body: 'a tsf event',
      ts: 5,
      src: 'agent-1',
      seq: 7,
      headers: { app: 'web', topic, partition: '0', offset: '0', key: 'k1' },
    })
    t.notOk(JSON.stringify(events.map((e) => ({ ...e, _ack: undefined }))).includes('stale.cursor'), 'an old cursor is not carried')
    t.match(events[1], { body: 'plain text', src: `kafka:${topic}:0`, seq: 2, headers: { topic, partition: '0', offset: '1' } })
    t.notOk('key' in events[1]!.headers, 'no key, no key header')
    t.equal(Buffer.from(events[2]!.body64 as string, 'base64').toString('hex'), '61ff62', 'invalid UTF-8 keeps its bytes in body64')
    t.ok(events[2]!.headers.key !== undefined || events[2]!.headers.key64 !== undefined, 'a key header')
    t.match(events[3], { body: '{"broken json', seq: 4 })
    t.match(events[4], { body: '', seq: 5 })
  },
)

t.test('--from-end: a new group skips what the topic already holds', async (t) => {
  const brokers = kafkaBrokers(t)
  if (!brokers) return
  const dir = t.testdir()
  const topic = uniqueName('end')
  await createTopic(brokers, topic)
  await produce(brokers, topic, [{ value: 'old 1' }, { value: 'old 2' }])
  const col = run(`exec ${tsf} collect --from kafka://${brokers}/${topic} --group ${uniqueName('g')} --from-end > out.ndjson`, dir)
  cleanup(t, col)
  await col.waitFor(/consuming/, 60_000)
  // "the end" is looked up at the first fetch, which may come after a record sent right now:
  // keep sending new ones until they flow
  for (let n = 1; lines(`${dir}/out.ndjson`).length === 0; n++) {
    if (n > 60) throw new Error(`no new record arrived: ${col.stderr()}`)
    await produce(brokers, topic, [{ value: `new ${n}` }])
    await new Promise((r) => setTimeout(r, 500))
  }
  col.kill('SIGTERM')
  t.equal(await col.exited, 0)
  const got = bodies(`${dir}/out.ndjson`)
  t.ok(got.length > 0 && got.every((b) => b.startsWith('new ')), got.join(', '))
})

t.test('usage errors exit 2 with one line', async (t) => {
  const dir = t.testdir()
  for (const args of [
    '--from kafka://b/t',
    '--from kafka://b --group g',
    '--from tcp://b/t --group g',
    '--group g',
    '--from-end',
    '--from kafka://b/t --group g --from-end --from-beginning',
    '--from kafka://b/t --group g --listen :1',
  ]) {
    const p = run(`${tsf} collect ${args}`, dir)
    t.equal(await p.exited, 2, `collect ${args}: ${p.stderr().trim()}`)
    t.equal(p.stderr().trim().split('\n').length, 1, `one line: ${p.stderr().trim()}`)
  }
})
