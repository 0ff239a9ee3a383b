import t from 'tap'
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { kafkaBrokers, uniqueName } from '../../fixtures/servers.js'
import { missing, run, tsf, type Proc } from '../../fixtures/tcp-helpers.js'
import { createTopic, readTopic, topicSize } from './kafka.js'

const cleanup = (t: { teardown: (fn: () => void) => void }, ...procs: Proc[]): void => t.teardown(() => procs.forEach((p) => p.kill()))

t.test('kill -9 of ship between tsf tail and Kafka: the restarted pipeline delivers every line, re-sends bounded and exact', async (t) => {
  const brokers = kafkaBrokers(t)
  if (!brokers) return
  const dir = t.testdir()
  const topic = uniqueName('tail-kill')
  await createTopic(brokers, topic)
  const n = 30000
  writeFileSync(`${dir}/app.log`, Array.from({ length: n }, (_, i) => `app line ${i + 1}\n`).join(''))
  // small sends: slow enough that the kill lands mid-stream
  const first = run(`${tsf} tail --state st app.log | ${tsf} ship kafka://${brokers}/${topic} --batch 200`, dir)
  cleanup(t, first)
  const deadline = Date.now() + 60_000
  while ((await topicSize(brokers, topic)) < 2000) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for the first records: ${first.stderr()}`)
    await new Promise((r) => setTimeout(r, 100))
  }
  const ship = Number(execFileSync('pgrep', ['-f', '-P', String(first.child.pid), '^node .*tsf.js ship'], { encoding: 'utf8' }).trim())
  process.kill(ship, 'SIGKILL')
  await first.exited
  const before = await topicSize(brokers, topic)
  const second = run(`${tsf} tail --state st app.log | ${tsf} ship kafka://${brokers}/${topic}`, dir)
  cleanup(t, second)
  t.equal(await second.exited, 0, second.stderr())
  const total = await topicSize(brokers, topic)
  const got = (await readTopic(brokers, topic, total, 60_000)).map(
    (r) => JSON.parse(r.value.toString()) as { body: string; src: string; seq: number },
  )
  t.ok(before < n, `the kill landed mid-stream (${before} of ${n} in Kafka before it)`)
  t.same(
    missing(
      got.map((e) => e.body),
      n,
      'app line ',
    ),
    [],
    'every line delivered',
  )
  t.ok(got.length - n <= before, `re-sent lines are bounded by what was in Kafka (${got.length - n} <= ${before})`)
  t.equal(new Set(got.map((e) => `${e.src} ${e.seq}`)).size, n, 'duplicates carry the same (src, seq): removable exactly')
})
