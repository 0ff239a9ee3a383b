import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { kafkaBrokers, uniqueName } from '../../fixtures/servers.js'
import { cleanup, sigtermWhileUnreachable, usageErrors } from '../../fixtures/ship-failures.js'
import { fixture, missing, run, tsf } from '../../fixtures/tcp-helpers.js'
import { createTopic, readTopic } from './kafka.js'

const bodyOf = (value: Buffer): string => (JSON.parse(value.toString()) as { body: string }).body

t.test('a linked writer → ship kafka://: every event once, keyed by its src, acked upstream only once Kafka acked', async (t) => {
  const brokers = kafkaBrokers(t)
  if (!brokers) return
  const dir = t.testdir()
  const topic = uniqueName('ship')
  await createTopic(brokers, topic, 3)
  const ship = run(`node ${fixture('link-writer.mjs')} 5000 ckpt | ${tsf} ship kafka://${brokers}/${topic}`, dir)
  cleanup(t, ship)
  t.equal(await ship.exited, 0, ship.stderr())
  t.equal(readFileSync(`${dir}/ckpt`, 'utf8'), '5000', 'the writer saw every event acked')
  const records = await readTopic(brokers, topic, 5000)
  t.equal(records.length, 5000, 'each event is one record')
  t.same(
    missing(
      records.map((r) => bodyOf(r.value)),
      5000,
    ),
    [],
    'none missing',
  )
  t.same([...new Set(records.map((r) => r.key))], ['w'], "the key is the event's src")
  t.equal(new Set(records.map((r) => r.partition)).size, 1, 'so one stream stays in one partition')
  const seqs = records.map((r) => (JSON.parse(r.value.toString()) as { seq: number }).seq)
  t.same(
    seqs,
    [...seqs].sort((a, b) => a - b),
    'and in order',
  )
  t.notOk(
    records.some((r) => r.value.includes('_ack')),
    'values carry no ack cursor',
  )
})

t.test('--key-header and --topic-header take key and topic from headers; event headers become record headers', async (t) => {
  const brokers = kafkaBrokers(t)
  if (!brokers) return
  const dir = t.testdir()
  const main = uniqueName('ship-main')
  const other = uniqueName('ship-other')
  await createTopic(brokers, main)
  await createTopic(brokers, other)
  const events = [
    { body: 'to other, key user-1', headers: { user: 'user-1', dest: other }, src: 's1', seq: 1 },
    { body: 'to main, key from src', headers: { app: 'web' }, src: 's1', seq: 2 },
    { body: 'bad topic header', headers: { dest: 'no/such topic!' }, src: 's1', seq: 3 },
  ]
  writeFileSync(`${dir}/in.ndjson`, events.map((e) => JSON.stringify(e)).join('\n') + '\n')
  const ship = run(`${tsf} ship kafka://${brokers}/${main} --key-header user --topic-header dest < in.ndjson`, dir)
  cleanup(t, ship)
  t.equal(await ship.exited, 0, ship.stderr())
  const [routed] = await readTopic(brokers, other, 1)
  t.equal(bodyOf(routed!.value), 'to other, key user-1')
  t.equal(routed!.key, 'user-1', 'key from --key-header')
  t.same(routed!.headers, { user: 'user-1', dest: other }, 'event headers are record headers')
  const rest = await readTopic(brokers, main, 2)
  t.same(rest.map((r) => bodyOf(r.value)).sort(), ['bad topic header', 'to main, key from src'])
  t.same(
    rest.map((r) => r.key),
    ['s1', 's1'],
    'without the header the key is the src',
  )
  t.match(
    ship.stderr(),
    /header dest='no\/such topic!' is not a Kafka topic name: sending such events to /,
    'a bad topic is said once, and the event is not lost',
  )
})

t.test('--value body sends the exact body bytes, invalid UTF-8 included', async (t) => {
  const brokers = kafkaBrokers(t)
  if (!brokers) return
  const dir = t.testdir()
  const topic = uniqueName('ship-body')
  await createTopic(brokers, topic)
  writeFileSync(
    `${dir}/in.log`,
    Buffer.concat([Buffer.from('plain line\n'), Buffer.from([0x61, 0xff, 0xfe, 0x62, 0x0a]), Buffer.from('{"broken json\n')]),
  )
  const ship = run(`${tsf} ship kafka://${brokers}/${topic} --value body < in.log`, dir)
  cleanup(t, ship)
  t.equal(await ship.exited, 0, ship.stderr())
  const records = await readTopic(brokers, topic, 3)
  t.same(
    records.map((r) => r.value.toString('hex')),
    [Buffer.from('plain line').toString('hex'), '61fffe62', Buffer.from('{"broken json').toString('hex')],
  )
  t.same(
    records.map((r) => r.key),
    [null, null, null],
    'plain text has no src, so no key',
  )
})

t.test('an unreachable broker: a clear error naming it and the unacked count, exit 1, no hang', async (t) => {
  const dir = t.testdir()
  const ship = run(`seq 1 10 | ${tsf} ship kafka://127.0.0.1:1/nowhere --shutdown-timeout 1500ms`, dir)
  cleanup(t, ship)
  t.equal(await ship.exited, 1, ship.stderr())
  t.match(ship.stderr(), /kafka:\/\/127\.0\.0\.1:1\/nowhere: connection refused \(127\.0\.0\.1:1\); retrying, nothing is dropped/)
  t.match(ship.stderr(), /error: delivery failed: 10 events unacked after 1500 ms .*connection refused/)
  t.notMatch(ship.stderr(), /at .*\.js:\d+/, 'no stack trace')
})

t.test('SIGTERM while Kafka is unreachable: says what stays upstream, exits 0', (t) =>
  sigtermWhileUnreachable(t, 'kafka://127.0.0.1:1/nowhere'),
)

t.test('usage errors exit 2 with one line', (t) =>
  usageErrors(t, [
    'kafka://',
    'kafka://b:9092',
    'kafka://b:9092/',
    'kafka://b:99999/t',
    'kafka://b/bad%20topic',
    'kafka://b/t c:1',
    'kafka://b/t --balance random',
    'kafka://b/t --acks 2',
    'kafka://b/t --value all',
    'c:1 --key-header k',
  ]),
)

t.test('an oversize line is cut into pieces that each fit a record; one event too large for the broker is a clear failure', async (t) => {
  const brokers = kafkaBrokers(t)
  if (!brokers) return
  const dir = t.testdir()
  const topic = uniqueName('ship-big')
  await createTopic(brokers, topic)
  writeFileSync(`${dir}/big.log`, 'x'.repeat(2_000_000) + '\nsmall\n')
  const ship = run(`${tsf} ship kafka://${brokers}/${topic} < big.log`, dir)
  cleanup(t, ship)
  t.equal(await ship.exited, 0, ship.stderr())
  const records = await readTopic(brokers, topic, 5)
  const pieces = records.map((r) => JSON.parse(r.value.toString()) as { body: string; cont?: boolean })
  t.equal(pieces.map((p) => p.body).join('').length, 2_000_005, 'every byte, in order')
  t.same(
    pieces.map((p) => Boolean(p.cont)),
    [true, true, true, false, false],
  )
  const tooBig = run(`${tsf} ship kafka://${brokers}/${topic} --max-line 2M < big.log`, dir)
  cleanup(t, tooBig)
  t.equal(await tooBig.exited, 1)
  t.match(
    tooBig.stderr(),
    /MESSAGE_TOO_LARGE.*an event of \d+ bytes; lower --max-line or raise the topic's max\.message\.bytes\); \d+ events stay unacked upstream/,
  )
  t.notMatch(tooBig.stderr(), /at .*\.js:\d+/, 'no stack trace')
})
