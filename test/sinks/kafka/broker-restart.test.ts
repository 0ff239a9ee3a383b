import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { kafkaBrokers, uniqueName } from '../../fixtures/servers.js'
import { bodies, fixture, missing, run, tsf, until, type Proc } from '../../fixtures/tcp-helpers.js'
import { createTopic, readTopic, topicSize } from './kafka.js'
import { privateBrokerSkip, startPrivateBroker } from './private-broker.js'

// A broker of this test's own is killed and started again (the shared one must stay up).
const cleanup = (t: { teardown: (fn: () => void) => void }, ...procs: Proc[]): void => t.teardown(() => procs.forEach((p) => p.kill()))
const checkpoint = (path: string): number => (existsSync(path) ? Number(readFileSync(path, 'utf8') || 0) : 0)
const bodyOf = (value: Buffer): string => (JSON.parse(value.toString()) as { body: string }).body

t.test(
  'the broker is killed and restarted mid-stream: ship waits, retries, loses nothing, the upstream checkpoint never passes what Kafka holds; a collector reading meanwhile carries on',
  { skip: privateBrokerSkip() },
  async (t) => {
    if (!kafkaBrokers(t)) return
    const dir = t.testdir()
    const broker = await startPrivateBroker(dir)
    t.teardown(() => broker.stop('SIGKILL'))
    const topic = uniqueName('ship-restart')
    await createTopic(broker.brokers, topic)
    const ship = run(
      `node ${fixture('link-writer.mjs')} 5000 ckpt --rate 200 | ${tsf} ship kafka://${broker.brokers}/${topic} --max-penalty 1s --connect-timeout 1s`,
      dir,
    )
    cleanup(t, ship)
    const col = run(
      `exec ${tsf} collect --from kafka://${broker.brokers}/${topic} --group ${uniqueName('g')} | node ${fixture('link-reader.mjs')} col.ndjson`,
      dir,
    )
    cleanup(t, col)
    await until(() => checkpoint(`${dir}/ckpt`) >= 300, 30_000, 'first acks')
    await broker.stop('SIGKILL')
    const acked = checkpoint(`${dir}/ckpt`)
    await ship.waitFor(/retrying, nothing is dropped/, 30_000)
    t.equal(checkpoint(`${dir}/ckpt`), acked, 'no acks while the broker is down')
    await broker.start()
    t.equal(await ship.exited, 0, ship.stderr())
    t.equal(readFileSync(`${dir}/ckpt`, 'utf8'), '5000')
    t.match(ship.stderr(), /delivering again after \d+ s/)
    // A send the broker wrote but could not answer before it died is sent again (at-least-once,
    // deduped on (src, seq) downstream): the topic may hold a few more records than events, so it is
    // read whole. Reading only the first 5000 records would leave an event unread behind a duplicate.
    const size = await topicSize(broker.brokers, topic)
    const records = await readTopic(broker.brokers, topic, size, 60_000)
    t.equal(records.length, size, 'the whole topic was read')
    const seen = records.map((r) => bodyOf(r.value))
    t.same(missing(seen, 5000), [], 'every event is in the topic')
    t.ok(acked <= size, 'what was acked before the crash had been acked by Kafka')
    const ids = records.map((r) => JSON.parse(r.value.toString()) as { src: string; seq: number }).map((e) => `${e.src} ${e.seq}`)
    t.equal(new Set(ids).size, 5000, `duplicates (${size - 5000}) carry the same (src, seq): removable exactly`)
    await until(() => missing(bodies(`${dir}/col.ndjson`), 5000).length === 0, 60_000, 'the collector has every event')
    t.notOk(col.stderr().includes('at '), 'no stack trace from the collector')
  },
)
