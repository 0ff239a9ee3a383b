import t, { type Test } from 'tap'
import { connect, type Socket } from 'node:net'
import type { Server } from 'node:http'
import { Counters, METRICS_LIMITS, serveMetrics, type MetricsLimits } from '../../src/core/metrics.js'
import { until } from '../fixtures/procs.js'

// Sockets left open on a --metrics port (a port scanner, a stuck client) are not held for ever
// and not without bound: the process doing the real work keeps its file descriptors, and a
// scrape after them is answered. Every wait is on what the server did (its 'connection' and
// 'drop' events, sockets closed), bounded generously: nothing here depends on how fast the
// machine is, and no test waits out the real 10 s timeout.
t.setTimeout(180_000)

const serve = async (t: Test, limits: Partial<MetricsLimits>): Promise<{ server: Server; port: number }> => {
  const counters = new Counters('test')
  counters.add('EventReceivedCount', 3)
  const server = await serveMetrics({ host: '127.0.0.1', port: 0 }, counters, { ...METRICS_LIMITS, ...limits })
  t.teardown(() => server.close())
  return { server, port: (server.address() as { port: number }).port }
}

// n silent sockets to the port; `closed` fills as the server closes them
const silent = (t: Test, port: number, n: number): Set<number> => {
  const closed = new Set<number>()
  for (let i = 0; i < n; i++) {
    const s: Socket = connect(port, '127.0.0.1')
    s.on('error', () => {})
    s.on('close', () => closed.add(i))
    t.teardown(() => s.destroy())
  }
  return closed
}

const scrape = async (t: Test, port: number): Promise<void> => {
  const res = await fetch(`http://127.0.0.1:${port}/metrics`)
  t.equal(res.status, 200)
  t.match(await res.text(), /^tsf_test_event_received_count 3$/m, 'the scrape is answered')
}

t.test('at most 64 connections are held: the ones over the limit are closed at once', async (t) => {
  t.equal(METRICS_LIMITS.maxConnections, 64)
  // a timeout far longer than the test: every close seen here is the limit's
  const { server, port } = await serve(t, { timeout: 600_000 })
  let held = 0
  let dropped = 0
  server.on('connection', () => held++)
  server.on('drop', () => dropped++)
  const n = METRICS_LIMITS.maxConnections + 36
  const closed = silent(t, port, n)
  await until(
    () => held + dropped === n,
    60_000,
    'the server to take or refuse every connection',
    () => `${held} held, ${dropped} dropped of ${n}`,
  )
  t.equal(held, METRICS_LIMITS.maxConnections, 'the server holds the limit')
  t.equal(dropped, n - METRICS_LIMITS.maxConnections, 'and refuses the rest')
  await until(
    () => closed.size === dropped,
    60_000,
    'the refused sockets closed',
    () => `${closed.size} of ${dropped}`,
  )
})

t.test('a connection silent for the timeout is closed; a scrape after them is answered', async (t) => {
  t.equal(METRICS_LIMITS.timeout, 10_000)
  const { server, port } = await serve(t, { timeout: 300 })
  let held = 0
  server.on('connection', () => held++)
  const n = METRICS_LIMITS.maxConnections
  const closed = silent(t, port, n)
  await until(
    () => closed.size === n,
    120_000,
    'every silent connection closed by the server',
    () => `${closed.size} of ${n} (${held} accepted)`,
  )
  t.equal(held, n, 'each was accepted first, then closed for its silence')
  await scrape(t, port)
})
