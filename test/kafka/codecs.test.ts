// collect --from kafka:// reads record batches other producers compressed: kcat (librdkafka, as
// Java and Go producers do) writes snappy, lz4 and zstd batches; every line comes out once, in order.
import { spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import t from 'tap'
import { kafkaBrokers, uniqueName } from '../fixtures/servers.js'
import { lines, run, tsf, until } from '../fixtures/tcp-helpers.js'
import { createTopic, haveKcat } from '../sinks/kafka/kafka.js'
import { cleanup } from '../sources/kafka/procs.js'

t.setTimeout(180_000)

for (const codec of ['snappy', 'lz4', 'zstd'] as const) {
  t.test(`collect --from reads ${codec} batches (kcat -z ${codec}): every line once, in order`, async (t) => {
    const brokers = kafkaBrokers(t)
    if (!brokers) return
    if (!haveKcat(t)) return
    const dir = t.testdir()
    const topic = uniqueName(`read-${codec}`)
    await createTopic(brokers, topic)
    const n = 20_000
    // log-like lines compress well, so librdkafka keeps them compressed (it sends a batch plain
    // when compressing does not make it smaller)
    const input = Array.from({ length: n }, (_, i) => `GET /item/${i % 97} HTTP/1.1 200 line ${i + 1}`)
    writeFileSync(`${dir}/in.log`, input.join('\n') + '\n')
    const produce = spawnSync('kcat', ['-P', '-b', brokers, '-t', topic, '-z', codec, '-X', 'linger.ms=50', '-l', `${dir}/in.log`], {
      encoding: 'utf8',
    })
    t.equal(produce.status, 0, produce.stderr)
    const col = run(`exec ${tsf} collect --from kafka://${brokers}/${topic} --group ${uniqueName('g')} > out.ndjson`, dir)
    cleanup(t, col)
    await until(
      () => lines(`${dir}/out.ndjson`).length >= n || /error|not implemented/i.test(col.stderr()),
      120_000,
      () => `${n} events: ${col.stderr()}`,
    )
    col.kill('SIGTERM')
    t.equal(await col.exited, 0, col.stderr())
    t.notMatch(col.stderr(), /not implemented|LZ4:|error/i, 'no decoding error')
    const bodies = lines(`${dir}/out.ndjson`).map((l) => (JSON.parse(l) as { body: string }).body)
    t.equal(bodies.length, n, 'every record once')
    t.same(bodies, input, 'the same lines, in order')
  })
}
