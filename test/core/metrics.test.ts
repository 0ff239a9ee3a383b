import t from 'tap'
import { connect, type Socket } from 'node:net'
import { Counters, METRICS_MAX_CONNECTIONS, serveMetrics } from '../../src/core/metrics.js'
import { until } from '../fixtures/procs.js'

// Sockets left open on a --metrics port (a port scanner, a stuck client) are not held for ever
// and not without bound: the process doing the real work keeps its file descriptors, and a
// scrape after them is answered.

t.test('silent connections to --metrics are bounded and closed; a scrape still gets through', async (t) => {
  const counters = new Counters('test')
  counters.add('EventReceivedCount', 3)
  const server = await serveMetrics({ host: '127.0.0.1', port: 0 }, counters)
  t.teardown(() => server.close())
  const port = (server.address() as { port: number }).port
  const n = METRICS_MAX_CONNECTIONS + 36
  const closed = new Set<number>()
  const sockets: Socket[] = []
  for (let i = 0; i < n; i++) {
    const s = connect(port, '127.0.0.1')
    s.on('error', () => {})
    s.on('close', () => closed.add(i))
    sockets.push(s)
    t.teardown(() => s.destroy())
  }
  await until(() => closed.size >= n - METRICS_MAX_CONNECTIONS, 20_000, "the connections over the limit closed", () => `${closed.size} of ${n}`)
  await until(() => closed.size === n, 40_000, "every silent connection closed by the server", () => `${closed.size} of ${n}`)
  const res = await fetch(`http://127.0.0.1:${port}/metrics`)
  t.equal(res.status, 200)
  t.match(await res.text(), /^tsf_test_event_received_count 3$/m, 'the scrape is answered')
})
