import { info, warn } from '../../core/log.js'
import type { Counters } from '../../core/metrics.js'
import type { ConnectionError, SinkConnection } from './connection.js'
import type { TcpDestination } from './destination.js'
import { penaltyFor } from './penalty.js'

// Ship's destinations (Flume's failover and load-balancing sink processors): the state of each
// one, which takes the next batch, which to connect to, the penalty after a failure, and what is
// said about them. Failover keeps one active destination (the live one first in priority order)
// and only switches once the old one has nothing in flight, so one collector never sees a
// stream's later batches before its earlier ones; balance spreads batches over the live ones.

export type Policy = 'failover' | 'round-robin' | 'random'

export interface TargetOptions {
  destinations: TcpDestination[]
  policy: Policy
  inFlight: number // batches in flight per destination
  maxPenalty: number
  counters: Counters
}

export interface Target {
  dest: TcpDestination
  priority: number
  conn?: SinkConnection
  state: 'idle' | 'connecting' | 'up' | 'down'
  failures: number
  penaltyUntil: number
  upSince: number
  refused?: string
  lastError?: string
}

export class Targets {
  readonly all: Target[]
  private rr = 0
  private activeFailover?: Target
  private lastActive?: Target // for saying where traffic moved
  private wakeTimer?: NodeJS.Timeout
  private closed = false
  lastFailure?: { at: number; message: string }

  // `connect`: opens a connection to the target (the sink wires its events)
  constructor(
    private readonly options: TargetOptions,
    private readonly connect: (t: Target) => void,
  ) {
    this.all = options.destinations.map((dest, priority) => ({
      dest,
      priority,
      state: 'idle',
      failures: 0,
      penaltyUntil: 0,
      upSince: 0,
    }))
  }

  live(): Target[] {
    return this.all.filter((t) => t.state === 'up')
  }

  // Which destination takes the next batch, or undefined to wait.
  pick(): Target | undefined {
    const slots = (t: Target): boolean => t.conn!.inFlight < this.options.inFlight && !t.conn!.needDrain
    const live = this.live()
    if (this.options.policy === 'failover') {
      const best = live[0] // targets are in priority order
      if (!best) return undefined
      const active = this.activeFailover
      if (active && active !== best && active.state === 'up' && active.conn!.inFlight > 0) {
        // drain the old destination before switching, to keep each stream in order
        return undefined
      }
      if (active !== best) {
        const before = active ?? this.lastActive
        if (before && before !== best) this.options.counters.add('FailoverCount')
        if (before && before !== best)
          info(
            `sending to ${best.dest.name}${best.priority < before.priority ? ' (back to a higher priority destination)' : ` (${before.dest.name} is down)`}`,
          )
        else if (!before && best !== this.all[0])
          // the first destination is not the preferred one (it is down at start, e.g. after a
          // restart): what an earlier run left unacked goes elsewhere, so say where
          info(`sending to ${best.dest.name} (${this.all[0]!.dest.name} is down)`)
        this.activeFailover = this.lastActive = best
      }
      return slots(best) ? best : undefined
    }
    const open = live.filter(slots)
    if (!open.length) return undefined
    if (this.options.policy === 'random') return open[Math.floor(Math.random() * open.length)]
    const t = open[this.rr++ % open.length]
    return t
  }

  // Opens connections: with failover, to destinations ranked above the live one (probing a primary
  // back), or to every eligible one when none is live; with balance, to every eligible one.
  connectWhatIsNeeded(): void {
    if (this.closed) return
    const now = Date.now()
    const best = this.live()[0]
    let nextWake = Infinity
    const failover = this.options.policy === 'failover'
    for (const t of this.all) {
      if (failover && t === best) break // nothing below the live one is needed
      if (t.state === 'up') continue
      if (t.state === 'connecting') {
        // failover tries in priority order: wait for this one before trying the next
        if (failover && !best) break
        continue
      }
      if (t.penaltyUntil > now) {
        nextWake = Math.min(nextWake, t.penaltyUntil)
        continue
      }
      t.state = 'connecting'
      this.connect(t)
      if (failover && !best) break
    }
    if (this.wakeTimer) clearTimeout(this.wakeTimer)
    this.wakeTimer = undefined
    if (nextWake !== Infinity) {
      this.wakeTimer = setTimeout(() => this.connectWhatIsNeeded(), Math.max(10, nextWake - now))
      this.wakeTimer.unref()
    }
  }

  // The target's connection opened.
  up(t: Target): void {
    const wasDown = t.failures > 0 || t.lastError
    t.state = 'up'
    t.upSince = Date.now()
    this.options.counters.add('ConnectionCreatedCount')
    if (wasDown) info(`connected to ${t.dest.name}`)
  }

  // The target's connection ended: it is no longer the active one.
  ended(t: Target): void {
    if (this.activeFailover === t) this.activeFailover = undefined
  }

  // The target failed: its penalty starts and the failure is said (once while it stays the same).
  // Returns the refusal of every destination when each refused us (retrying cannot help).
  down(t: Target, error: ConnectionError): Error | undefined {
    t.failures++
    this.options.counters.add('ConnectionFailedCount')
    const penalty = error.refused ? this.options.maxPenalty : penaltyFor(t.failures, this.options.maxPenalty)
    t.penaltyUntil = Date.now() + penalty
    t.state = 'down'
    const message = error.message
    let refusal: Error | undefined
    if (error.refused) {
      if (t.refused !== message) warn(`${t.dest.name} ${message}`)
      t.refused = message
      if (this.all.every((x) => x.refused)) refusal = new Error(this.all.map((x) => `${x.dest.name} ${x.refused}`).join('; '))
    } else {
      t.refused = undefined
      if (t.lastError !== message) warn(`${t.dest.name}: ${message} (retrying in ${Math.round(penalty / 100) / 10} s)`)
    }
    t.lastError = message
    this.lastFailure = { at: Date.now(), message: `${t.dest.name}: ${message}` }
    return refusal
  }

  // For the agent report: where traffic goes now.
  get activeName(): string | undefined {
    return (this.activeFailover ?? this.live()[0])?.dest.name
  }

  lastErrors(): string {
    return this.all.map((t) => `${t.dest.name}: ${t.refused ?? t.lastError ?? t.state}`).join('; ')
  }

  close(): void {
    this.closed = true
    if (this.wakeTimer) clearTimeout(this.wakeTimer)
  }
}
