import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import t from 'tap'
import { kafkaBrokers, uniqueName } from '../../fixtures/servers.js'
import { run, tsf } from '../../fixtures/tcp-helpers.js'
import { createTopic, haveKcat } from './kafka.js'

// kcat (librdkafka) is the other client

for (const codec of ['gzip', 'snappy'] as const) {
  t.test(`--compress ${codec}: record batches kcat reads back, every event once and in order`, async (t) => {
    const brokers = kafkaBrokers(t)
    if (!brokers) return
    if (!haveKcat(t)) return
    const dir = t.testdir()
    const topic = uniqueName(`ship-${codec}`)
    await createTopic(brokers, topic)
    const events = Array.from({ length: 3000 }, (_, i) =>
      JSON.stringify({ body: `line ${i + 1} ${'x'.repeat(i % 200)}`, src: 's1', seq: i + 1 }),
    )
    writeFileSync(`${dir}/in.ndjson`, events.join('\n') + '\n')
    const ship = run(`${tsf} ship --compress ${codec} kafka://${brokers}/${topic} < in.ndjson`, dir)
    t.teardown(() => ship.kill())
    t.equal(await ship.exited, 0, ship.stderr())
    const read = execFileSync('kcat', ['-C', '-b', brokers, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%s\n'], {
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    })
    const lines = read.trimEnd().split('\n')
    t.equal(lines.length, events.length, 'as many records as events')
    t.same(lines, events, 'kcat decodes the same values')
  })
}

t.test('--compress snappy is for kafka:// only: a usage error before anything is read', async (t) => {
  const ship = run(`${tsf} ship --compress snappy 127.0.0.1:1 < /dev/null`, t.testdir())
  t.equal(await ship.exited, 2)
  t.match(ship.stderr(), /^tsf ship: error: --compress snappy applies to kafka:\/\/ destinations only/)
})
