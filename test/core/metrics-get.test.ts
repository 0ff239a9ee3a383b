import t, { type Test } from 'tap'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { getMetricsJson } from '../../src/core/metrics-get.js'
import { sampleOne, parseTarget } from '../../src/top/sample.js'

const listen = async (t: Test, server: Server): Promise<number> => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  return (server.address() as AddressInfo).port
}

t.test('a port that fetch() calls "bad" (1, 6000, 10080, ...) is read like any other: here nothing listens, so refused', async (t) => {
  const err = await getMetricsJson('http://127.0.0.1:1/metrics.json', 2000).catch((e: NodeJS.ErrnoException) => e)
  t.equal((err as NodeJS.ErrnoException).code, 'ECONNREFUSED', String(err))
  const sample = await sampleOne(parseTarget('127.0.0.1:1'), 2000)
  t.match(sample.error, /^connection refused/, 'tsf top says why, not "bad port"')
})

t.test('an answer is parsed; a non-200 or non-JSON answer says so', async (t) => {
  const port = await listen(
    t,
    createServer((req, res) => {
      if (req.url === '/metrics.json') res.end('{"collect":{"EventReceivedCount":3},"agents":[]}')
      else if (req.url === '/text') res.end('hello')
      else res.writeHead(404).end()
    }),
  )
  t.same(await getMetricsJson(`http://127.0.0.1:${port}/metrics.json`, 2000), { collect: { EventReceivedCount: 3 }, agents: [] })
  await t.rejects(getMetricsJson(`http://127.0.0.1:${port}/nope`, 2000), { message: 'HTTP 404' })
  await t.rejects(getMetricsJson(`http://127.0.0.1:${port}/text`, 2000), { message: 'not JSON' })
})

t.test('a server that takes the connection and never answers: "no answer in time" once the timeout has passed', async (t) => {
  const port = await listen(
    t,
    createServer(() => {
      /* never answers */
    }),
  )
  await t.rejects(getMetricsJson(`http://127.0.0.1:${port}/metrics.json`, 300), { message: 'no answer in time', code: 'ETIMEDOUT' })
})
