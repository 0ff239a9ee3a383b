import t from 'tap'
import { kafkaBrokers, uniqueName } from '../../fixtures/servers.js'
import { fixture, missing, run, tsf, until, type Proc } from '../../fixtures/tcp-helpers.js'
import { createTopic } from '../../sinks/kafka/kafka.js'
import { cleanup, collectorPid, duplicates, rolledLines, stopCollector } from './procs.js'

t.test(
  'a collector killed -9 before its offsets are committed: records are read again, nothing lost, no duplicate after roll',
  async (t) => {
    const brokers = kafkaBrokers(t)
    if (!brokers) return
    const dir = t.testdir()
    const topic = uniqueName('kill')
    const group = uniqueName('g')
    await createTopic(brokers, topic, 2)
    // the agent keeps shipping while collectors die and come back
    const ship = run(`node ${fixture('link-writer.mjs')} 6000 ckpt --rate 1500 | ${tsf} ship kafka://${brokers}/${topic}`, dir)
    cleanup(t, ship)
    const pipeline = (): Proc => run(`exec ${tsf} collect --from kafka://${brokers}/${topic} --group ${group} | ${tsf} roll out`, dir)
    let col = pipeline()
    cleanup(t, col)
    for (const atLeast of [1000, 2500]) {
      await until(() => rolledLines(`${dir}/out`).length >= atLeast, 60_000, `${atLeast} rolled`)
      // the collector alone dies; roll sees its writer vanish and exits 3, as a pipeline should
      process.kill(await collectorPid(col), 'SIGKILL')
      t.equal(await col.exited, 3, 'roll: upstream lost')
      col = pipeline()
      cleanup(t, col)
    }
    t.equal(await ship.exited, 0, ship.stderr())
    await until(() => rolledLines(`${dir}/out`).length >= 6000, 60_000, 'all 6000 rolled')
    await stopCollector(col)
    t.equal(await col.exited, 0, col.stderr())
    const got = rolledLines(`${dir}/out`)
    t.same(missing(got, 6000), [], 'nothing lost')
    t.same(duplicates(got), [], 'no duplicate')
    t.equal(got.length, 6000)
  },
)
