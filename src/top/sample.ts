// One look at the fleet: every collector's /metrics.json, read in parallel, each within a timeout.
// A collector that does not answer is a row saying why, never a failure of the whole view.
import { getMetricsJson, MetricsGetError } from '../core/metrics-get.js'

export interface CollectorTarget {
  // as given on the command line (host:port)
  name: string
  url: string
}

export interface CollectorSample {
  target: CollectorTarget
  at: number
  counters?: Record<string, number>
  agents?: Record<string, unknown>[]
  error?: string
}

export const parseTarget = (text: string): CollectorTarget => {
  const bare = text.replace(/^https?:\/\//, '').replace(/\/.*$/, '')
  const url = /^https?:\/\//.test(text) && /\/[^/]/.test(text.replace(/^https?:\/\//, '')) ? text : `http://${bare}/metrics.json`
  return { name: bare, url }
}

const describe = (e: MetricsGetError): string => {
  if (e.code === 'ECONNREFUSED') return 'connection refused (is collect running with --metrics on this address?)'
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN') return 'host not found'
  return e.message
}

export const sampleOne = async (target: CollectorTarget, timeout: number): Promise<CollectorSample> => {
  const at = Date.now()
  try {
    const body = await getMetricsJson(target.url, timeout)
    const counters = body.collect as Record<string, number> | undefined
    if (!counters || typeof counters !== 'object') {
      const what = Object.keys(body).find((k) => !Array.isArray(body[k]))
      return { target, at, error: `not a collector's metrics${what ? ` (a tsf ${what})` : ''}` }
    }
    return { target, at, counters, agents: Array.isArray(body.agents) ? (body.agents as Record<string, unknown>[]) : [] }
  } catch (e) {
    return { target, at, error: describe(e as MetricsGetError) }
  }
}

export const sampleAll = (targets: CollectorTarget[], timeout: number): Promise<CollectorSample[]> =>
  Promise.all(targets.map((t) => sampleOne(t, timeout)))
