// Flume's failover penalty: each failure in a row doubles the wait before a destination is tried
// again (1 s, 2 s, 4 s ... up to maxPenalty), with jitter so that a fleet of agents does not
// reconnect to a restarted collector in lockstep.
export const penaltyFor = (failures: number, maxPenalty: number, random = Math.random): number => {
  if (failures <= 0) return 0
  const base = Math.min(maxPenalty, 1000 * 2 ** Math.min(failures - 1, 30))
  return Math.round(base * (0.75 + 0.25 * random()))
}
