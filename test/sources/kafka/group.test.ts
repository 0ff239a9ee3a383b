import t from 'tap'
import { kafkaBrokers, uniqueName } from '../../fixtures/servers.js'
import { bodies, fixture, missing, run, tsf, until, type Proc } from '../../fixtures/tcp-helpers.js'
import { createTopic } from '../../sinks/kafka/kafka.js'
import { cleanup, stopCollector } from './procs.js'

t.test('two collectors in one group split the partitions and survive the rebalances as one joins and one leaves', async (t) => {
  const brokers = kafkaBrokers(t)
  if (!brokers) return
  const dir = t.testdir()
  const topic = uniqueName('group')
  const group = uniqueName('g')
  await createTopic(brokers, topic, 4)
  const collector = (name: string): Proc =>
    run(`exec ${tsf} collect --from kafka://${brokers}/${topic} --group ${group} | node ${fixture('link-reader.mjs')} ${name}.ndjson`, dir)
  const a = collector('a')
  cleanup(t, a)
  await a.waitFor(/assigned \S+\[0,1,2,3\]/, 60_000)
  // plain lines have no src, so no key: they spread over all four partitions
  const ship1 = run(`seq 1 4000 | ${tsf} ship kafka://${brokers}/${topic}`, dir)
  cleanup(t, ship1)
  t.equal(await ship1.exited, 0, ship1.stderr())
  const b = collector('b')
  cleanup(t, b)
  await b.waitFor(/assigned \S+\[\d(,\d)*\]/, 60_000)
  const ship2 = run(`seq 4001 8000 | ${tsf} ship kafka://${brokers}/${topic}`, dir)
  cleanup(t, ship2)
  t.equal(await ship2.exited, 0, ship2.stderr())
  await until(() => bodies(`${dir}/b.ndjson`).length > 0, 60_000, 'b gets a share')
  await stopCollector(a)
  t.equal(await a.exited, 0, a.stderr())
  await b.waitFor(/assigned \S+\[0,1,2,3\][^]*assigned \S+\[0,1,2,3\]|assigned \S+\[\d(,\d)*\][^]*assigned \S+\[0,1,2,3\]/, 60_000)
  const ship3 = run(`seq 8001 10000 | ${tsf} ship kafka://${brokers}/${topic}`, dir)
  cleanup(t, ship3)
  t.equal(await ship3.exited, 0, ship3.stderr())
  const all = (): string[] => [...bodies(`${dir}/a.ndjson`), ...bodies(`${dir}/b.ndjson`)]
  await until(() => missing(all(), 10000, '').length === 0, 60_000, 'every line at a or b')
  const fromB = new Set(bodies(`${dir}/b.ndjson`))
  t.ok(bodies(`${dir}/a.ndjson`).length >= 1000, 'a read its share')
  t.ok(
    [...fromB].some((x) => Number(x) > 4000 && Number(x) <= 8000),
    'b read its share while both ran',
  )
  t.ok(
    [...fromB].some((x) => Number(x) > 8000),
    'b took over after a left',
  )
  await stopCollector(b)
  t.equal(await b.exited, 0, b.stderr())
})
