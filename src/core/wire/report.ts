import { encodeHeader } from './frames.js'

// The agent report frame (docs/wire-protocol.md §2): ship tells the collector how it is doing, so
// that `tsf top` pointed at collectors shows every agent without being told about any of them.
//   'R' report  client→server  id = 0, count = 0, payload = one JSON object (AgentReport), at most
//   MAX_REPORT_BYTES. Sent only when the collector's CHALLENGE said report=1 (older collectors
//   would close the connection on an unknown frame type), at most every --report-interval, and
//   never while the socket is backed up: a batch never waits behind a report.
export const REPORT_FRAME = 0x52
export const MAX_REPORT_BYTES = 16 * 1024

// What one agent says about itself. Numbers are totals since the agent started (rates are
// computed by the reader from two reports or two scrapes).
export interface AgentReport {
  v: 1
  // names the agent: host, and the ship process on it
  host: string
  pid: number
  started: number // epoch ms
  at: number // epoch ms when the report was made
  // ship's own counters (EventTakeSuccessCount, EventDrainSuccessCount, ChannelSize, ...)
  ship: Record<string, number>
  // the destination in use and how often traffic moved to another one
  active?: string
  failovers: number
  errors: number
  lastError?: { at: number; message: string }
  // the upstream stages' metrics, as ship read them from their --metrics endpoints
  // (ship --report-upstream): { tail: {...}, files: [...] } per endpoint
  upstream?: Record<string, unknown>[]
}

export const reportFrame = (report: AgentReport): Buffer | undefined => {
  const payload = Buffer.from(JSON.stringify(report))
  if (payload.length > MAX_REPORT_BYTES) return undefined
  return Buffer.concat([encodeHeader(REPORT_FRAME, 0, 0, 0, payload.length), payload])
}

// A report from the wire; undefined when it is not one (a collector never fails a connection
// over a report: it only feeds the fleet view).
export const decodeReport = (payload: Buffer): AgentReport | undefined => {
  if (payload.length > MAX_REPORT_BYTES) return undefined
  try {
    const r = JSON.parse(payload.toString('utf8')) as AgentReport
    if (!r || typeof r !== 'object' || r.v !== 1 || typeof r.host !== 'string') return undefined
    return r
  } catch {
    return undefined
  }
}
