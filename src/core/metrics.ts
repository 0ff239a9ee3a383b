import type { Server } from 'node:http'
import type { Socket } from 'node:net'
import { once } from 'node:events'
import { TsfError } from './errors.js'
import { info } from './log.js'

// Counters with Flume's names (EventReceivedCount, EventAcceptedCount, ChannelSize, ...),
// served by --metrics HOST:PORT as JSON at /metrics.json (and /) and Prometheus text at /metrics.
export class Counters {
  private readonly values = new Map<string, number>()
  private readonly gauges = new Map<string, () => number>()
  private readonly tables = new Map<string, { read: () => Record<string, unknown>[]; label: string }>()
  constructor(readonly component: string) {}

  // A list of things with their own figures (tail's files, collect's agents): served in the JSON
  // under `key`, and in Prometheus as tsf_<component>_<key>_<field>{<label>="..."} for each
  // numeric field of each row.
  table(key: string, label: string, read: () => Record<string, unknown>[]): void {
    this.tables.set(key, { read, label })
  }

  tablesSnapshot(): Record<string, Record<string, unknown>[]> {
    const out: Record<string, Record<string, unknown>[]> = {}
    for (const [k, t] of this.tables) out[k] = t.read()
    return out
  }

  add(name: string, n = 1): void {
    this.values.set(name, (this.values.get(name) ?? 0) + n)
  }

  set(name: string, value: number): void {
    this.values.set(name, value)
  }

  gauge(name: string, read: () => number): void {
    this.gauges.set(name, read)
  }

  get(name: string): number {
    const g = this.gauges.get(name)
    return g ? g() : (this.values.get(name) ?? 0)
  }

  snapshot(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const [k, v] of this.values) out[k] = v
    for (const [k, g] of this.gauges) out[k] = g()
    return out
  }

  prometheus(): string {
    const snap = this.snapshot()
    const name = (k: string): string => `tsf_${this.component}_${k.replace(/([a-z])([A-Z])/g, '$1_$2').toLowerCase()}`
    const lines = Object.entries(snap).map(([k, v]) => `# TYPE ${name(k)} ${/Count$/.test(k) ? 'counter' : 'gauge'}\n${name(k)} ${v}`)
    for (const [key, { read, label }] of this.tables) {
      const rows = read()
      const fields = new Set<string>()
      for (const row of rows) for (const [f, v] of Object.entries(row)) if (typeof v === 'number') fields.add(f)
      for (const f of fields) {
        const metric = name(`${key}_${f}`).replace(/_+/g, '_')
        lines.push(`# TYPE ${metric} ${/Count$/.test(f) ? 'counter' : 'gauge'}`)
        for (const row of rows) {
          const v = row[f]
          if (typeof v === 'number') lines.push(`${metric}{${label}="${escapeLabel(String(row[label] ?? ''))}"} ${v}`)
        }
      }
    }
    return lines.join('\n') + '\n'
  }
}

const escapeLabel = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')

// How many connections the --metrics port holds at once, and how long one may stay silent (ms).
export interface MetricsLimits {
  maxConnections: number
  timeout: number
}
export const METRICS_LIMITS: MetricsLimits = { maxConnections: 64, timeout: 10_000 }

export const serveMetrics = async (
  address: { host: string; port: number },
  counters: Counters,
  limits: MetricsLimits = METRICS_LIMITS,
): Promise<Server> => {
  // node:http loads only for --metrics
  const { createServer } = await import('node:http')
  // A scrape is one short request: a connection that sends no whole request within a few seconds
  // is closed, and few are held at once, so sockets left open on this port (a scanner, a stuck
  // client) cannot pile up file descriptors in the process doing the real work.
  const server = createServer(
    { headersTimeout: limits.timeout, requestTimeout: limits.timeout, connectionsCheckingInterval: Math.min(1000, limits.timeout) },
    (req, res) => {
      const path = (req.url ?? '/').split('?')[0]
      if (path === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' })
        res.end(counters.prometheus())
      } else if (path === '/' || path === '/metrics.json') {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify({ [counters.component]: counters.snapshot(), ...counters.tablesSnapshot() }) + '\n')
      } else {
        res.writeHead(404).end()
      }
    },
  )
  server.maxConnections = limits.maxConnections
  // the request timeouts start at a request's first byte: a socket that sends nothing is closed here
  server.on('connection', (socket: Socket) => socket.setTimeout(limits.timeout, () => socket.destroy()))
  server.listen(address.port, address.host)
  try {
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([e]) => Promise.reject(e))])
  } catch (error) {
    throw new TsfError(`--metrics ${address.host}:${address.port}: ${(error as Error).message}`)
  }
  server.unref()
  const a = server.address()
  if (a && typeof a === 'object') info(`metrics on http://${address.host}:${a.port}/metrics (Prometheus) and /metrics.json`)
  return server
}
