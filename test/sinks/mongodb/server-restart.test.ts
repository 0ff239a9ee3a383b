import t from 'tap'
import { existsSync, readFileSync } from 'node:fs'
import { mongodbAddress } from '../../fixtures/servers.js'
import { fixture, run, tsf, until, type Proc } from '../../fixtures/tcp-helpers.js'
import { countDocs, eventually, findAll } from './mongo.js'
import { privateServerSkip, startPrivateServer } from './private-server.js'

// A server of this test's own is stopped and started again (the shared one must stay up).
const cleanup = (t: { teardown: (fn: () => void) => void }, ...procs: Proc[]): void => t.teardown(() => procs.forEach((p) => p.kill()))
const checkpoint = (path: string): number => (existsSync(path) ? Number(readFileSync(path, 'utf8') || 0) : 0)

t.test('the server is stopped and restarted mid-stream: ship waits, retries, loses nothing, writes each event once, acks nothing while it is down', { skip: privateServerSkip() }, async (t) => {
  if (!mongodbAddress(t)) return
  const dir = t.testdir()
  const server = await startPrivateServer(dir)
  t.teardown(() => server.stop())
  const ship = run(`node ${fixture('link-writer.mjs')} 3000 ckpt --rate 300 | ${tsf} ship mongodb://${server.address}/restart/events --batch 50 --max-penalty 300ms --connect-timeout 300ms --metrics 127.0.0.1:0`, dir)
  cleanup(t, ship)
  const metrics = (await ship.waitFor(/metrics on (http:\/\/\S+)\/metrics /))[1]
  const failures = async (): Promise<number> => ((await (await fetch(`${metrics}/metrics.json`)).json()) as { ship: Record<string, number> }).ship.ConnectionFailedCount ?? 0
  await until(() => checkpoint(`${dir}/ckpt`) >= 300, 30_000, () => `first acks: ${ship.stderr()}`)
  await server.stop()
  await ship.waitFor(/retrying, nothing is dropped/, 30_000)
  // sends the server answered before it stopped may still be acked on their way up: read the
  // checkpoint once ship has failed, then again after three more failed attempts
  const acked = checkpoint(`${dir}/ckpt`)
  const failed = await failures()
  await eventually(async () => (await failures()) >= failed + 3, 30_000, () => `more failed attempts: ${ship.stderr()}`)
  t.equal(checkpoint(`${dir}/ckpt`), acked, 'no acks while the server is down')
  await server.start()
  t.equal(await ship.exited, 0, ship.stderr())
  t.equal(readFileSync(`${dir}/ckpt`, 'utf8'), '3000')
  t.match(ship.stderr(), /writing again after \d+ s/)
  const docs = await findAll(server.address, 'restart', 'events')
  t.equal(docs.length, 3000, 'each event once')
  t.same([...new Set(docs.map((d) => d._id))].length, 3000)
  t.ok(acked <= (await countDocs(server.address, 'restart', 'events')), 'what was acked before the stop was in MongoDB')
  t.notMatch(ship.stderr(), /at .*\.js:\d+/, 'no stack trace')
})
