import { hostname } from 'node:os'
import { getMetricsJson } from '../../core/metrics-get.js'
import type { Counters } from '../../core/metrics.js'
import { reportFrame, type AgentReport } from '../../core/wire/report.js'
import type { TcpSink } from './sink.js'

export interface ReportOptions {
  // how often (ms); 0: never
  interval: number
  // --metrics endpoints of the stages upstream of ship (tail, channel) on this host, read at each
  // report so the collector learns their lag and backlog too
  upstream: { host: string; port: number }[]
}

const UPSTREAM_TIMEOUT = 1000
// rows of per-file tables kept in a report (the frame has a size limit); the worst lag first
const MAX_ROWS = 20

// Reads an upstream stage's /metrics.json; undefined when it does not answer in time.
const readUpstream = async (endpoint: { host: string; port: number }): Promise<Record<string, unknown>> => {
  const where = `${endpoint.host}:${endpoint.port}`
  try {
    const body = await getMetricsJson(`http://${where}/metrics.json`, UPSTREAM_TIMEOUT)
    // per-file rows: the files furthest behind are the ones worth the report's room
    for (const [k, v] of Object.entries(body)) {
      if (Array.isArray(v))
        body[k] = [...v]
          .sort((a, b) => Number((b as Record<string, number>).LagBytes ?? 0) - Number((a as Record<string, number>).LagBytes ?? 0))
          .slice(0, MAX_ROWS)
    }
    return { endpoint: where, ...body }
  } catch (e) {
    return { endpoint: where, error: (e as NodeJS.ErrnoException).code === 'ETIMEDOUT' ? 'no answer within 1 s' : (e as Error).message }
  }
}

// Ship's reports to its collectors (the fleet view of `tsf top`): its own counters, where it sends,
// failovers and its last error, and what its upstream stages' metrics say. Small, and sent only
// when a connection has room (connection.ts).
export class AgentReporter {
  private timer?: NodeJS.Timeout
  private readonly started = Date.now()
  private busy = false

  constructor(
    private readonly sink: TcpSink,
    private readonly counters: Counters,
    private readonly options: ReportOptions,
  ) {}

  start(): void {
    if (this.options.interval <= 0) return
    // the first soon after connecting, so a fresh agent shows up at once
    const first = setTimeout(() => void this.send(), Math.min(1000, this.options.interval))
    first.unref()
    this.timer = setInterval(() => void this.send(), this.options.interval)
    this.timer.unref()
  }

  async build(): Promise<AgentReport> {
    const ship = this.counters.snapshot()
    const upstream = this.options.upstream.length ? await Promise.all(this.options.upstream.map(readUpstream)) : undefined
    return {
      v: 1,
      host: hostname(),
      pid: process.pid,
      started: this.started,
      at: Date.now(),
      ship,
      active: this.sink.activeName,
      failovers: ship.FailoverCount ?? 0,
      errors: ship.ConnectionFailedCount ?? 0,
      lastError: this.sink.lastFailure,
      upstream,
    }
  }

  private async send(): Promise<void> {
    if (this.busy) return
    this.busy = true
    try {
      const report = await this.build()
      // too big (many upstream rows): the upstream part goes, the rest still tells a lot
      const frame = reportFrame(report) ?? reportFrame({ ...report, upstream: undefined })
      if (frame) this.sink.sendReport(frame)
    } finally {
      this.busy = false
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
  }
}
