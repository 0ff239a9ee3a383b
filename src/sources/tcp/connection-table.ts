import type { Server, Socket } from 'node:net'
import { warnOnce } from '../../core/log.js'
import type { Counters } from '../../core/metrics.js'
import { type Evictable, evictionVictim } from './eviction.js'

export interface TrackedSession extends Evictable {
  evict(): void
  stopReading(): void
  destroy(): void
}

// The servers of a listener (--listen and --flume-avro alike) and their open sessions: bounded in
// number, the choice of whom to evict when full, and the two endings (stop, close all).
export class ConnectionTable<S extends TrackedSession> {
  private readonly servers: Server[] = []
  private readonly sessions = new Set<S>()

  constructor(
    private readonly max: number,
    private readonly counters: Counters,
  ) {}

  get size(): number {
    return this.sessions.size
  }

  // A new connection: counted, and true when there is room for it; when there is none it is
  // counted as refused, said once (`key`, `connections`: whose), and the caller closes it.
  admit(key: string, connections: string): boolean {
    this.counters.add('ConnectionCreatedCount')
    // full: a connection that never handshook (silent or stuck, oldest first) or one idle for a
    // while makes room, so silent sockets cannot lock the senders out
    if (this.makeRoom()) return true
    warnOnce(key, `more than --max-connections ${this.max} ${connections}: refusing new ones until some close (said once)`)
    this.counters.add('ConnectionRefusedCount')
    return false
  }

  // When full, evicts one connection that has not proven itself or sat idle; false if still full.
  private makeRoom(): boolean {
    if (this.sessions.size >= this.max) {
      const victim = evictionVictim(this.sessions)
      if (victim) {
        this.sessions.delete(victim)
        victim.evict()
      }
    }
    return this.sessions.size < this.max
  }

  // a server that accepts into this table: closed at stop()
  listening(server: Server): void {
    this.servers.push(server)
  }

  track(socket: Socket, session: S): void {
    this.sessions.add(session)
    socket.on('close', () => {
      this.sessions.delete(session)
      this.counters.add('ConnectionClosedCount')
    })
  }

  // Stop accepting and reading; sessions stay open so acks for what was taken still reach the senders.
  stop(): void {
    for (const s of this.servers) s.close()
    for (const s of this.sessions) s.stopReading()
  }

  close(): void {
    this.stop()
    for (const s of this.sessions) s.destroy()
  }
}
