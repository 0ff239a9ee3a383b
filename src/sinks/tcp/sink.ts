import type { EventHead } from '../../core/event.js'
import { eventCount, releaseEvents, type InputBatch } from '../../core/link/reader.js'
import type { Counters } from '../../core/metrics.js'
import { Changes } from '../../core/wait.js'
import { OutBatches } from './batching.js'
import { ConnectionError, WireConnection, type ConnectionOptions, type SinkConnection } from './connection.js'
import type { TcpDestination } from './destination.js'
import { Targets, type Policy, type Target } from './targets.js'
import type { InputShare, OutBatch } from './out-batch.js'

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

// What the sink tells its caller.
export interface TcpSinkHooks {
  // every collector ack covering this input batch is in: ack it upstream
  done(batch: InputBatch): void
  // every destination refused us (token, protocol): retrying cannot help
  refused(error: Error): void
}

// Sends input batches to collectors and reports each input batch once every collector ack covering
// it is in: the batches are cut by batching.ts, the destination of each is picked by
// targets.ts; this file runs the connections (a batch goes out when a slot is free, a failed
// connection's unacked batches go again) and the end (room, flush, close).
export class TcpSink {
  private readonly batches: OutBatches
  private readonly targets: Targets
  private inflightEvents = 0
  private heldBytes = 0
  private closed = false
  // an ack, a connection's end, the close: what room() and flush() wait on
  private readonly progress = new Changes()

  constructor(
    private readonly options: TcpSinkOptions,
    private readonly hooks: TcpSinkHooks,
  ) {
    const { protocol } = options
    this.batches = new OutBatches({ ...options, encode: protocol ? (heads) => protocol.encode(heads) : undefined }, () => this.pump())
    this.targets = new Targets(options, (t) => this.connect(t))
    options.counters.gauge('ChannelSize', () => this.unacked)
  }

  // events handed to us and not acked by a collector yet
  get unacked(): number {
    return this.batches.events + this.inflightEvents
  }

  get bytesHeld(): number {
    return this.heldBytes
  }

  lastErrors(): string {
    return this.targets.lastErrors()
  }

  // For the agent report: where traffic goes now, and the last thing that went wrong.
  get activeName(): string | undefined {
    return this.targets.activeName
  }

  get lastFailure(): { at: number; message: string } | undefined {
    return this.targets.lastFailure
  }

  start(): void {
    this.targets.connectWhatIsNeeded()
  }

  // Takes an input batch; hooks.done(batch) once all of it is acked by collectors.
  add(batch: InputBatch): void {
    const share: InputShare = { batch, remaining: 0 }
    this.heldBytes += batch.bytes
    this.batches.add(batch, share)
    if (eventCount(batch) === 0) {
      this.heldBytes -= batch.bytes
      this.hooks.done(batch)
      return
    }
    if (this.inflightEvents > 0) this.batches.lingerWhileBusy()
    this.pump()
  }

  // Sends while a destination has a free slot. The filling batch goes out as soon as a slot is
  // free (an idle link sends at once); while every slot is busy it keeps filling up to the limits.
  private pump(): void {
    while (this.batches.ready) {
      const target = this.targets.pick()
      if (!target) break
      const batch = this.batches.take()
      this.inflightEvents += batch.count
      target.conn!.send(batch)
      this.options.counters.add('EventDrainAttemptCount', batch.count)
    }
    if (this.batches.waiting) this.targets.connectWhatIsNeeded()
  }

  private connect(t: Target): void {
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
        this.targets.up(t)
        this.pump()
        this.targets.connectWhatIsNeeded()
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
        this.hooks.done(share.batch)
        // every collector ack covering its bytes is in: nothing here sends them again
        releaseEvents(share.batch)
      }
    }
    this.progress.changed()
    this.pump()
  }

  private onEnd(t: Target, conn: SinkConnection, error: ConnectionError | undefined, unacked: OutBatch[]): void {
    if (t.conn !== conn) return
    if (unacked.length) {
      const n = this.batches.requeue(unacked)
      this.inflightEvents -= n
      this.options.counters.add('EventDrainRetryCount', n)
    }
    this.targets.ended(t)
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
    this.progress.changed()
  }

  private onDown(t: Target, error: ConnectionError): void {
    t.conn = undefined
    if (this.closed) return
    const refusal = this.targets.down(t, error)
    if (refusal) this.hooks.refused(refusal)
    this.targets.connectWhatIsNeeded()
  }

  // Sends a report frame on every connection whose collector takes them and has room.
  sendReport(frame: Buffer): void {
    for (const t of this.targets.live()) t.conn?.sendReport?.(frame)
  }

  // Resolves when the events held are under the limit (back pressure on the input loop), or the
  // signal aborted (seen at the next ack or end of a connection, or the close).
  async room(limit: number, signal?: AbortSignal): Promise<void> {
    while (this.heldBytes > limit && !this.closed && !signal?.aborted) await this.progress.next()
  }

  // Sends what is left and waits until all is acked or the deadline passes; returns events unacked.
  async flush(deadline: number): Promise<number> {
    this.batches.seal()
    this.pump()
    while (this.unacked > 0 && !this.closed) {
      const left = deadline - Date.now()
      if (left <= 0) break
      await this.progress.next(Math.min(left, 200))
    }
    return this.unacked
  }

  close(): void {
    this.closed = true
    this.batches.close()
    this.targets.close()
    for (const t of this.targets.all) t.conn?.close()
    this.progress.changed()
  }
}
