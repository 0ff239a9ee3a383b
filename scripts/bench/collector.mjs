// The collector side of the TCP workloads: `tsf collect` on port 0 with its counters served, piped
// into the given downstream stages; ready once it printed the port it listens on.
import { join } from 'node:path'
import { Pipeline } from './pipeline.mjs'
import { TSF } from './tsf.mjs'

export const startCollector = async (ctx, { downstream = [], stdout = '/dev/null', collectArgs = '--listen 127.0.0.1:0' } = {}) => {
  const p = new Pipeline({
    dir: ctx.work,
    stages: [{ label: 'collect', cmd: `${TSF} collect ${collectArgs} --metrics 127.0.0.1:0` }, ...downstream],
    stdout,
  })
  try {
    const [, port] = await p.waitFor('collect', /listening on [^\s:]+:(\d+)/)
    const [, metrics] = await p.waitFor('collect', /metrics on (http:\/\/[^\s/]+)\//)
    return { pipeline: p, port: Number(port), metricsUrl: metrics + '/metrics.json' }
  } catch (e) {
    p.kill()
    throw e
  }
}

// SIGTERM to collect: it stops listening, its downstream drains and exits; bounded.
export const stopCollector = async (collector, timeoutMs = 60_000) => {
  collector.pipeline.signal('collect', 'SIGTERM')
  await collector.pipeline.wait(timeoutMs)
}

export const stateDir = (ctx, name) => join(ctx.work, name)
