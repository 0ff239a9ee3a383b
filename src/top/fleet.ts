import type { CollectorSample } from './sample.js'

// The fleet view model: collectors and their agents, with per-second rates from two samples.
export interface CollectorRow {
  kind: 'collector'
  name: string
  up: boolean
  error?: string
  agents: number
  eventsInPerSec: number
  eventsOutPerSec: number
  mibInPerSec: number
  mibOutPerSec: number
  received: number
  accepted: number
  pending: number
  connectionErrors: number
}

export interface AgentRow {
  kind: 'agent'
  collector: string
  agent: string
  host: string
  peer: string
  connected: boolean
  eventsInPerSec: number // into the agent's ship (taken from its upstream)
  eventsOutPerSec: number // acked by the collector
  mibOutPerSec: number
  received: number
  accepted: number
  pending?: number // events ship holds that no collector acked yet
  lagBytes?: number // tail: bytes in the files past the acked checkpoints
  backlog?: number // channel: events stored and not yet taken downstream
  failovers?: number
  errors?: number
  lastError?: string
  lastContactSeconds: number
  reports: boolean
}

export interface Fleet {
  at: number
  collectors: CollectorRow[]
  agents: AgentRow[]
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined)
const MiB = 1024 * 1024

// counters per second between two samples; 0 without an earlier sample (or after a restart)
const rate = (now: number | undefined, before: number | undefined, seconds: number): number =>
  now === undefined || before === undefined || seconds <= 0 || now < before ? 0 : (now - before) / seconds

// An agent's own figures come with its reports (every few seconds), not with each scrape: their
// rate is measured between two reports, and kept while no newer report came.
const reportRate = (
  a: Record<string, unknown>,
  pa: Record<string, unknown> | undefined,
  kept: number | undefined,
  field: string,
): number => {
  if (typeof a.reportAt !== 'string' || typeof pa?.reportAt !== 'string') return 0
  if (a.reportAt === pa.reportAt) return kept ?? 0
  return rate(num(a[field]), num(pa[field]), (Date.parse(a.reportAt) - Date.parse(pa.reportAt)) / 1000)
}

export const buildFleet = (samples: CollectorSample[], previous?: CollectorSample[], before?: Fleet): Fleet => {
  const collectors: CollectorRow[] = []
  const agents: AgentRow[] = []
  for (const s of samples) {
    const prev = previous?.find((p) => p.target.name === s.target.name && !p.error)
    const seconds = prev ? (s.at - prev.at) / 1000 : 0
    const c = s.counters ?? {}
    const pc = prev?.counters ?? {}
    collectors.push({
      kind: 'collector',
      name: s.target.name,
      up: !s.error,
      error: s.error,
      agents: (s.agents ?? []).filter((a) => a.connected !== false).length,
      eventsInPerSec: rate(c.EventReceivedCount, pc.EventReceivedCount, seconds),
      eventsOutPerSec: rate(c.EventAcceptedCount, pc.EventAcceptedCount, seconds),
      mibInPerSec: rate(c.ByteReceivedCount, pc.ByteReceivedCount, seconds) / MiB,
      mibOutPerSec: rate(c.ByteAcceptedCount, pc.ByteAcceptedCount, seconds) / MiB,
      received: c.EventReceivedCount ?? 0,
      accepted: c.EventAcceptedCount ?? 0,
      pending: Math.max(0, (c.EventReceivedCount ?? 0) - (c.EventAcceptedCount ?? 0)),
      connectionErrors: c.ConnectionFailedCount ?? 0,
    })
    for (const a of s.agents ?? []) {
      const pa = prev?.agents?.find((x) => x.agent === a.agent)
      const get = (row: Record<string, unknown> | undefined, k: string): number | undefined => num(row?.[k])
      const lastError = a.lastError as { at: number; message: string } | undefined
      agents.push({
        kind: 'agent',
        collector: s.target.name,
        agent: String(a.agent ?? a.peer ?? '?'),
        host: String(a.host ?? '?'),
        peer: String(a.peer ?? ''),
        connected: a.connected !== false,
        eventsInPerSec: reportRate(
          a,
          pa,
          before?.agents.find((x) => x.collector === s.target.name && x.agent === a.agent)?.eventsInPerSec,
          'EventTakeSuccessCount',
        ),
        eventsOutPerSec: rate(get(a, 'EventAcceptedCount'), get(pa, 'EventAcceptedCount'), seconds),
        mibOutPerSec: rate(get(a, 'ByteAcceptedCount'), get(pa, 'ByteAcceptedCount'), seconds) / MiB,
        received: get(a, 'EventReceivedCount') ?? 0,
        accepted: get(a, 'EventAcceptedCount') ?? 0,
        pending: get(a, 'PendingEvents'),
        lagBytes: get(a, 'TailLagBytes'),
        backlog: get(a, 'ChannelBacklog'),
        failovers: get(a, 'FailoverCount'),
        errors: get(a, 'ErrorCount'),
        lastError: lastError ? lastError.message : undefined,
        lastContactSeconds: get(a, 'LastContactAgoSeconds') ?? 0,
        reports: a.reportAt !== undefined,
      })
    }
  }
  return { at: Date.now(), collectors, agents }
}

export const SORT_KEYS = ['name', 'rate', 'lag', 'pending', 'backlog', 'errors', 'contact'] as const
export type SortKey = (typeof SORT_KEYS)[number]

// Worst first for the figures (most lag, most pending ...), alphabetical for names.
export const sortAgents = (rows: AgentRow[], key: SortKey): AgentRow[] => {
  const by: Record<SortKey, (r: AgentRow) => number | string> = {
    name: (r) => `${r.host}\u0000${r.agent}`,
    rate: (r) => -r.eventsOutPerSec,
    lag: (r) => -(r.lagBytes ?? 0),
    pending: (r) => -(r.pending ?? 0),
    backlog: (r) => -(r.backlog ?? 0),
    errors: (r) => -(r.errors ?? 0),
    contact: (r) => -r.lastContactSeconds,
  }
  const f = by[key]
  return [...rows].sort((a, b) => {
    const x = f(a)
    const y = f(b)
    if (x < y) return -1
    if (x > y) return 1
    return a.agent < b.agent ? -1 : a.agent > b.agent ? 1 : 0
  })
}

// --filter: a case-insensitive substring of the agent, its host, peer or collector.
export const filterAgents = (rows: AgentRow[], filter: string | undefined): AgentRow[] => {
  if (!filter) return rows
  const f = filter.toLowerCase()
  return rows.filter((r) => [r.agent, r.host, r.peer, r.collector].some((v) => v.toLowerCase().includes(f)))
}
