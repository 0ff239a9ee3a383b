import type { Socket } from 'node:net'
import type { Counters } from '../../core/metrics.js'
import { type Evictable, evictionVictim } from './eviction.js'

export interface TrackedSession extends Evictable {
  evict(): void
  stopReading(): void
  destroy(): void
}

// The open sessions of a listener (--listen and --flume-avro alike): bounded in number, the choice
// of whom to evict when full, and the two endings (stop reading, close all).
export class ConnectionTable<S extends TrackedSession> {
  private readonly sessions = new Set<S>()

  constructor(
    private readonly max: number,
    private readonly counters: Counters,
  ) {}

  get size(): number {
    return this.sessions.size
  }

  // When full, evicts one connection that has not proven itself or sat idle; false if still full.
  makeRoom(): boolean {
    if (this.sessions.size >= this.max) {
      const victim = evictionVictim(this.sessions)
      if (victim) {
        this.sessions.delete(victim)
        victim.evict()
      }
    }
    return this.sessions.size < this.max
  }

  track(socket: Socket, session: S): void {
    this.sessions.add(session)
    socket.on('close', () => {
      this.sessions.delete(session)
      this.counters.add('ConnectionClosedCount')
    })
  }

  // stop reading; sessions stay open so acks for what was taken still reach the senders
  stopReading(): void {
    for (const s of this.sessions) s.stopReading()
  }

  destroy(): void {
    for (const s of this.sessions) s.destroy()
  }
}
