import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { mongodbAddress } from '../../fixtures/servers.js'
import { fixture, run, tsf, until, type Proc } from '../../fixtures/tcp-helpers.js'
import { countDocs, eventually, findAll } from './mongo.js'
import { privateServerSkip, startPrivateServer } from './private-server.js'

// A server of this test's own is stopped and started again (the shared one must stay up).
const cleanup = (t: { teardown: (fn: () => void) => void }, ...procs: Proc[]): void => t.teardown(() => procs.forEach((p) => p.kill()))
const checkpoint = (path: string): number => (existsSync(path) ? Number(readFileSync(path, 'utf8') || 0) : 0)

t.test(
  'the server is stopped and restarted mid-stream: ship waits, retries, loses nothing, writes each event once, acks nothing while it is down',
  { skip: privateServerSkip() },
  async (t) => {
    if (!mongodbAddress(t)) return
    const dir = t.testdir()
    const server = await startPrivateServer(dir)
    t.teardown(() => server.stop())
    const ship = run(
      `node ${fixture('link-writer.mjs')} 3000 ckpt --rate 300 | ${tsf} ship mongodb://${server.address}/restart/events --batch 50 --max-penalty 300ms --connect-timeout 300ms --metrics 127.0.0.1:0`,
      dir,
    )
    cleanup(t, ship)
    const metrics = (await ship.waitFor(/metrics on (http:\/\/\S+)\/metrics /))[1]
    const counter = async (name: string): Promise<number> =>
      ((await (await fetch(`${metrics}/metrics.json`)).json()) as { ship: Record<string, number> }).ship[name] ?? 0
    await until(
      () => checkpoint(`${dir}/ckpt`) >= 300,
      30_000,
      () => `first acks: ${ship.stderr()}`,
    )
    await server.stop()
    await ship.waitFor(/retrying, nothing is dropped/, 30_000)
    // acks of writes MongoDB confirmed before it stopped may still be on their way up the pipe (under
    // load, for a while): the promise is that nothing more is written while it is down, and that the
    // upstream checkpoint never passes what MongoDB confirmed
    const written = await counter('EventDrainSuccessCount')
    const failed = await counter('ConnectionFailedCount')
    await eventually(
      async () => (await counter('ConnectionFailedCount')) >= failed + 3,
      30_000,
      () => `more failed attempts: ${ship.stderr()}`,
    )
    t.equal(await counter('EventDrainSuccessCount'), written, 'nothing is written while the server is down')
    const acked = checkpoint(`${dir}/ckpt`)
    t.ok(acked <= written, `no acks beyond what MongoDB confirmed (${acked} acked, ${written} written)`)
    await server.start()
    t.equal(await ship.exited, 0, ship.stderr())
    t.equal(readFileSync(`${dir}/ckpt`, 'utf8'), '3000')
    t.match(ship.stderr(), /writing again after \d+ s/)
    const docs = await findAll(server.address, 'restart', 'events')
    t.equal(docs.length, 3000, 'each event once')
    t.same([...new Set(docs.map((d) => d._id))].length, 3000)
    t.ok(acked <= (await countDocs(server.address, 'restart', 'events')), 'what was acked before the stop was in MongoDB')
    t.notMatch(ship.stderr(), /at .*\.js:\d+/, 'no stack trace')
  },
)
