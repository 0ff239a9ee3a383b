import type { Counters } from '../../core/metrics.js'
import type { AgentReport } from '../../core/wire/report.js'

// The agents (ship connections) a collector has heard from: what it counted itself per
// connection, plus the last report each agent sent about itself. Served by collect --metrics under
// "agents" (the fleet view of `tsf top`). A disconnected agent stays listed for KEEP_GONE_MS, so
// the view can say when it was last heard from.
const KEEP_GONE_MS = 15 * 60_000
const MAX_GONE = 1000

export class AgentRecord {
  readonly connectedAt = Date.now()
  lastContact = Date.now()
  disconnectedAt?: number
  events = 0
  bytes = 0
  batches = 0
  accepted = 0
  acceptedBytes = 0
  report?: AgentReport
  // authenticated: the name it proved with its token (ship --agent, collect --agents)
  constructor(
    readonly peer: string,
    readonly authenticatedAs?: string,
  ) {}

  get name(): string {
    return this.authenticatedAs ?? (this.report ? `${this.report.host}/${this.report.pid}` : this.peer)
  }
}

// Sums of one counter of one kind of upstream stage (tail's LagBytes, channel's ChannelSize) over
// the stages an agent reported; undefined when it reported none of that kind.
const upstreamSum = (report: AgentReport | undefined, component: string, field: string): number | undefined => {
  let sum: number | undefined
  for (const u of report?.upstream ?? []) {
    const v = (u[component] as Record<string, unknown> | undefined)?.[field]
    if (typeof v === 'number') sum = (sum ?? 0) + v
  }
  return sum
}

const defined = (key: string, v: number | undefined): Record<string, number> => (v === undefined ? {} : { [key]: v })

export class Agents {
  private readonly live = new Set<AgentRecord>()
  private gone: AgentRecord[] = []

  constructor(counters: Counters) {
    counters.table('agents', 'agent', () => this.rows())
  }

  connected(peer: string, authenticatedAs?: string): AgentRecord {
    const a = new AgentRecord(peer, authenticatedAs)
    this.live.add(a)
    return a
  }

  disconnected(a: AgentRecord): void {
    if (!this.live.delete(a)) return
    a.disconnectedAt = Date.now()
    // a reconnect of the same agent replaces its old entry
    this.gone = [...this.gone.filter((g) => g.name !== a.name), a].slice(-MAX_GONE)
  }

  rows(): Record<string, unknown>[] {
    const now = Date.now()
    this.gone = this.gone.filter((g) => now - g.disconnectedAt! < KEEP_GONE_MS)
    const liveNames = new Set([...this.live].map((a) => a.name))
    const all = [...this.live, ...this.gone.filter((g) => !liveNames.has(g.name))]
    return all.map((a) => {
      const r = a.report
      return {
        agent: a.name,
        host: r?.host ?? a.peer.replace(/:\d+$/, ''),
        peer: a.peer,
        connected: a.disconnectedAt === undefined,
        ConnectedSince: a.connectedAt,
        LastContactAgoSeconds: Math.round((now - a.lastContact) / 100) / 10,
        EventReceivedCount: a.events,
        ByteReceivedCount: a.bytes,
        BatchReceivedCount: a.batches,
        EventAcceptedCount: a.accepted,
        ByteAcceptedCount: a.acceptedBytes,
        ...(r
          ? {
              EventTakeSuccessCount: r.ship.EventTakeSuccessCount ?? 0,
              PendingEvents: r.ship.ChannelSize ?? 0,
              FailoverCount: r.failovers,
              ErrorCount: r.errors,
              ...defined('TailLagBytes', upstreamSum(r, 'tail', 'LagBytes')),
              ...defined('ChannelBacklog', upstreamSum(r, 'channel', 'ChannelSize')),
              ReportAgoSeconds: Math.round((now - r.at) / 100) / 10,
              // not a gauge: when the agent made its report (rates of its own figures are
              // measured between two reports); kept out of Prometheus by being a string
              reportAt: new Date(r.at).toISOString(),
              lastError: r.lastError,
              active: r.active,
            }
          : {}),
      }
    })
  }
}
