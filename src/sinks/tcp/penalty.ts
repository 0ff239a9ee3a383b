import { backoffDelay } from '../../core/backoff.js'

// Flume's failover penalty: each failure in a row doubles the wait before a destination is tried
// again (1 s, 2 s, 4 s ... up to maxPenalty), with jitter so that a fleet of agents does not
// reconnect to a restarted collector in lockstep (the one back-off, core/backoff.ts).
export const penaltyFor = (failures: number, maxPenalty: number, random = Math.random): number =>
  backoffDelay(failures, { initial: 1000, max: maxPenalty, jitter: 0.25 }, random)
