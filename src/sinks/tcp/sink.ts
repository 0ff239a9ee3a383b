import { EventEmitter, once } from 'node:events'
import type { EventHead } from '../../core/event.js'
import { eventCount, releaseEvents, type InputBatch } from '../../core/link/reader.js'
import type { Counters } from '../../core/metrics.js'
import { info, warn } from '../../core/log.js'
import { encodeBatch } from '../../core/wire/batch.js'
import { ConnectionError, WireConnection, type ConnectionOptions, type SinkConnection } from './connection.js'
import type { TcpDestination } from './destination.js'
import type { InputShare, OutBatch } from './out-batch.js'
import { eventOrTimeout } from '../../core/wait.js'
import { penaltyFor } from './penalty.js'

export type Policy = 'failover' | 'round-robin' | 'random'

export interface TcpSinkOptions extends ConnectionOptions {
  destinations: TcpDestination[]
  policy: Policy
  batchEvents: number
  batchBytes: number
  // with batches in flight, how long a partial batch may wait to fill (0: send at once)
  linger: number
  inFlight: number // batches in flight per destination
  maxPenalty: number
  counters: Counters
  // another protocol to the same kind of destinations (Flume's avro source): its connections and
  // its batch encoding; selection, failover, balance and back-off stay the same
  protocol?: {
    connect(dest: TcpDestination): SinkConnection
    encode(heads: readonly EventHead[]): Buffer
  }
}

interface Target {
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

// Sends input batches to collectors and reports each input batch once every collector ack covering
// it is in. Batches adapt to the load: a free slot takes what is queued at once; when every slot is
// busy, events pile up into full batches. Failover keeps one active destination (the live one first
// in priority order) and only switches once the old one has nothing in flight, so one collector never
// sees a stream's later batches before its earlier ones; balance spreads batches over live ones.
export class TcpSink extends EventEmitter {
  private readonly targets: Target[]
  private queue: OutBatch[] = []
  // the batch being filled: heads, or whole input batches held as bytes (InputBatch.lines)
  private filling: Filling = newFilling()
  private lingerTimer?: NodeJS.Timeout
  private wakeTimer?: NodeJS.Timeout
  private nextSeq = 0
  private rr = 0
  private queuedEvents = 0
  private inflightEvents = 0
  private heldBytes = 0
  private closed = false
  private activeFailover?: Target
  private lastActive?: Target // for saying where traffic moved
  lastFailure?: { at: number; message: string }

  constructor(private readonly options: TcpSinkOptions) {
    super()
    this.targets = options.destinations.map((dest, priority) => ({
      dest,
      priority,
      state: 'idle',
      failures: 0,
      penaltyUntil: 0,
      upSince: 0,
    }))
    options.counters.gauge('ChannelSize', () => this.unacked)
  }

  // events handed to us and not acked by a collector yet
  get unacked(): number {
    return this.queuedEvents + this.inflightEvents + this.filling.count
  }

  get bytesHeld(): number {
    return this.heldBytes
  }

  lastErrors(): string {
    return this.targets.map((t) => `${t.dest.name}: ${t.refused ?? t.lastError ?? t.state}`).join('; ')
  }

  start(): void {
    this.connectWhatIsNeeded()
  }

  // Takes an input batch; 'done' (batch) is emitted once all of it is acked by collectors.
  add(batch: InputBatch): void {
    const share: InputShare = { batch, remaining: 0 }
    this.heldBytes += batch.bytes
    const { batchEvents, batchBytes } = this.options
    const lines = batch.lines
    if (lines && !this.options.protocol && batch.count! <= batchEvents && lines.length <= batchBytes) {
      // already in the wire format: joins a batch whole, no copy per event
      const full = this.filling.count + batch.count! > batchEvents || this.filling.bytes + lines.length > batchBytes
      // a batch is one view of consecutive input batches: one that does not follow the last part
      // in memory (the reader framed it into its next block) starts a new batch rather than a copy
      if (full || this.filling.heads.length || !follows(this.filling.parts, lines)) this.seal()
      const f = this.filling
      f.parts.push(lines)
      f.count += batch.count!
      f.bytes += lines.length
      f.shares.push(share)
      share.remaining++
      if (f.count >= batchEvents || f.bytes >= batchBytes) this.seal()
    } else
      for (const head of batch.heads) {
        // a batch is either heads or bytes: the bytes before go out as a batch of their own
        if (this.filling.parts.length) this.seal()
        const f = this.filling
        if (f.shares.at(-1) !== share) {
          // counted when it joins a batch, not when the batch is sealed, so that an early ack of one
          // part never looks like the whole
          f.shares.push(share)
          share.remaining++
        }
        f.heads.push(head)
        f.count++
        f.bytes += head.length + 2
        if (f.count >= batchEvents || f.bytes >= batchBytes) this.seal()
      }
    if (eventCount(batch) === 0) {
      this.heldBytes -= batch.bytes
      this.emit('done', batch)
      return
    }
    if (this.filling.count && this.options.linger > 0 && this.inflightEvents > 0 && !this.lingerTimer) {
      this.lingerTimer = setTimeout(() => {
        this.lingerTimer = undefined
        this.seal()
        this.pump()
      }, this.options.linger)
    }
    this.pump()
  }

  // closes the filling batch and queues it
  private seal(): void {
    const f = this.filling
    if (!f.count) return
    if (this.lingerTimer) clearTimeout(this.lingerTimer)
    this.lingerTimer = undefined
    const payload = f.parts.length
      ? contiguous(f.parts)
      : this.options.protocol
        ? this.options.protocol.encode(f.heads)
        : encodeBatch(f.heads)
    this.queue.push({ seq: this.nextSeq++, payload, count: f.count, shares: f.shares })
    this.queuedEvents += f.count
    this.filling = newFilling()
  }

  private live(): Target[] {
    return this.targets.filter((t) => t.state === 'up')
  }

  // Which destination takes the next batch, or undefined to wait.
  private pick(): Target | undefined {
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
        else if (!before && best !== this.targets[0])
          // the first destination is not the preferred one (it is down at start, e.g. after a
          // restart): what an earlier run left unacked goes elsewhere, so say where
          info(`sending to ${best.dest.name} (${this.targets[0]!.dest.name} is down)`)
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

  // Sends while a destination has a free slot. The filling batch goes out as soon as a slot is
  // free (an idle link sends at once); while every slot is busy it keeps filling up to the limits.
  private pump(): void {
    while (this.queue.length || (this.filling.count && !this.lingerTimer)) {
      const target = this.pick()
      if (!target) break
      if (!this.queue.length) this.seal()
      const batch = this.queue.shift()!
      this.queuedEvents -= batch.count
      this.inflightEvents += batch.count
      target.conn!.send(batch)
      this.options.counters.add('EventDrainAttemptCount', batch.count)
    }
    if (this.queue.length || this.filling.count) this.connectWhatIsNeeded()
  }

  // Opens connections: with failover, to destinations ranked above the live one (probing a primary
  // back), or to every eligible one when none is live; with balance, to every eligible one.
  private connectWhatIsNeeded(): void {
    if (this.closed) return
    const now = Date.now()
    const best = this.live()[0]
    let nextWake = Infinity
    const failover = this.options.policy === 'failover'
    for (const t of this.targets) {
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

  private connect(t: Target): void {
    t.state = 'connecting'
    const conn = this.options.protocol ? this.options.protocol.connect(t.dest) : new WireConnection(t.dest, this.options)
    t.conn = conn
    conn.on('ack', (batch: OutBatch) => this.onAck(t, batch))
    conn.on('drain', () => this.pump())
    conn.on('end', (error: ConnectionError | undefined, unacked: OutBatch[]) => this.onEnd(t, conn, error, unacked))
    conn.open().then(
      () => {
        if (this.closed) return conn.close()
        // it may have ended in the same tick it opened (a collector closing with an error frame)
        if (t.conn !== conn || conn.isEnded) return
        const wasDown = t.failures > 0 || t.lastError
        t.state = 'up'
        t.upSince = Date.now()
        this.options.counters.add('ConnectionCreatedCount')
        if (wasDown) info(`connected to ${t.dest.name}`)
        this.emit('up', t.dest)
        this.pump()
        this.connectWhatIsNeeded()
      },
      (error: ConnectionError) => this.onDown(t, error),
    )
  }

  private onAck(t: Target, batch: OutBatch): void {
    t.failures = 0
    this.inflightEvents -= batch.count
    this.options.counters.add('EventDrainSuccessCount', batch.count)
    this.options.counters.add('BatchCompleteCount')
    for (const share of batch.shares) {
      if (--share.remaining === 0) {
        this.heldBytes -= share.batch.bytes
        this.emit('done', share.batch)
        // every collector ack covering its bytes is in: nothing here sends them again
        releaseEvents(share.batch)
      }
    }
    this.emit('progress')
    this.pump()
  }

  private onEnd(t: Target, conn: SinkConnection, error: ConnectionError | undefined, unacked: OutBatch[]): void {
    if (t.conn !== conn) return
    if (unacked.length) {
      let n = 0
      for (const b of unacked) n += b.count
      this.inflightEvents -= n
      this.queuedEvents += n
      // back to the front, in their original order, ahead of anything newer
      this.queue = [...unacked, ...this.queue].sort((a, b) => a.seq - b.seq)
      this.options.counters.add('EventDrainRetryCount', n)
    }
    if (this.activeFailover === t) this.activeFailover = undefined
    if (this.closed) return
    // a connection with nothing in flight that closes (idle timeout, collector restart) is not a
    // failure yet: reconnect quietly, and let the reconnect decide
    // (unless it lived only briefly: a collector that closes every connection must not be a busy loop)
    const quiet = !unacked.length && !error?.refused && t.state === 'up' && Date.now() - t.upSince > 5000
    if (error && !quiet) this.onDown(t, error)
    else {
      t.state = 'idle'
      t.conn = undefined
    }
    // reconnects only for work waiting (pump), or after a failure (onDown): an idle connection the
    // collector closed (to make room, idle timeout) comes back when there is something to send
    this.pump()
    this.emit('progress')
  }

  private onDown(t: Target, error: ConnectionError): void {
    t.conn = undefined
    if (this.closed) return
    t.failures++
    this.options.counters.add('ConnectionFailedCount')
    const penalty = error.refused ? this.options.maxPenalty : penaltyFor(t.failures, this.options.maxPenalty)
    t.penaltyUntil = Date.now() + penalty
    t.state = 'down'
    const message = error.message
    if (error.refused) {
      if (t.refused !== message) warn(`${t.dest.name} ${message}`)
      t.refused = message
      if (this.targets.every((x) => x.refused))
        this.emit('fatal', new Error(this.targets.map((x) => `${x.dest.name} ${x.refused}`).join('; ')))
    } else {
      t.refused = undefined
      if (t.lastError !== message) warn(`${t.dest.name}: ${message} (retrying in ${Math.round(penalty / 100) / 10} s)`)
    }
    t.lastError = message
    this.lastFailure = { at: Date.now(), message: `${t.dest.name}: ${message}` }
    this.connectWhatIsNeeded()
  }

  // For the agent report: where traffic goes now, and the last thing that went wrong.
  get activeName(): string | undefined {
    return (this.activeFailover ?? this.live()[0])?.dest.name
  }

  // Sends a report frame on every connection whose collector takes them and has room.
  sendReport(frame: Buffer): void {
    for (const t of this.live()) t.conn?.sendReport?.(frame)
  }

  // Resolves when the events held are under the limit (back pressure on the input loop).
  async room(limit: number, signal?: AbortSignal): Promise<void> {
    while (this.heldBytes > limit && !this.closed && !signal?.aborted) await once(this, 'progress', { signal }).catch(() => undefined)
  }

  // Sends what is left and waits until all is acked or the deadline passes; returns events unacked.
  async flush(deadline: number): Promise<number> {
    this.seal()
    this.pump()
    while (this.unacked > 0 && !this.closed) {
      const left = deadline - Date.now()
      if (left <= 0) break
      await eventOrTimeout(this, 'progress', Math.min(left, 200))
    }
    return this.unacked
  }

  close(): void {
    this.closed = true
    if (this.lingerTimer) clearTimeout(this.lingerTimer)
    if (this.wakeTimer) clearTimeout(this.wakeTimer)
    for (const t of this.targets) t.conn?.close()
    this.emit('progress')
  }
}

interface Filling {
  heads: EventHead[]
  parts: Buffer[] // or: input batches already in the wire format (InputBatch.lines)
  count: number
  bytes: number
  shares: InputShare[]
}

const newFilling = (): Filling => ({ heads: [], parts: [], count: 0, bytes: 0, shares: [] })

// Whether `next` lies right after the last of `parts` in the same memory (or there is none).
const follows = (parts: Buffer[], next: Buffer): boolean => {
  const last = parts.at(-1)
  return !last || (last.buffer === next.buffer && last.byteOffset + last.length === next.byteOffset)
}

// Parts that lie end to end in one buffer (consecutive input batches framed into the same block,
// see follows()) as one view of them: a batch is sent without copying.
const contiguous = (parts: Buffer[]): Buffer => {
  if (parts.length === 1) return parts[0]!
  const first = parts[0]!
  const last = parts.at(-1)!
  return Buffer.from(first.buffer, first.byteOffset, last.byteOffset + last.length - first.byteOffset)
}
