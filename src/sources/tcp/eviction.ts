// Which connection a full listener closes for a new one (--listen and --flume-avro alike). Those
// that have not proven themselves yet (no handshake: silent, stuck or unauthenticated) go first,
// oldest first; then those idle the longest, if for IDLE_BEFORE_EVICTION at least (so agents that
// outnumber the slots take turns instead of closing each other in a loop). A connection with
// something in flight is never closed.

export const IDLE_BEFORE_EVICTION = 30_000

export interface Evictable {
  readonly unproven: boolean
  readonly idle: boolean
  readonly lastActive: number
}

export const evictionVictim = <T extends Evictable>(sessions: Iterable<T>, now = Date.now()): T | undefined => {
  let idle: T | undefined
  const before = now - IDLE_BEFORE_EVICTION
  for (const s of sessions) {
    if (s.unproven) return s // a Set iterates in insertion order: the first is the oldest
    if (s.idle && s.lastActive <= before && (!idle || s.lastActive < idle.lastActive)) idle = s
  }
  return idle
}
