import type { EventHead } from '../../core/event.js'
import type { InputBatch } from '../../core/link/reader.js'
import { encodeBatch } from '../../core/wire/batch.js'
import type { InputShare, OutBatch } from './out-batch.js'

// How ship's sender cuts input batches into out batches: the batch being filled (heads, or whole
// input batches already in the wire format, held as bytes), sealed at --batch-events/--batch-bytes
// or when a slot takes it, and the queue of sealed batches in send order (a failed connection's
// batches go back to its front). Batches adapt to the load: a free slot takes what is filling at
// once; while every slot is busy, events pile up into full batches, and with --linger a partial
// batch waits that long to fill.

export interface BatchingOptions {
  batchEvents: number
  batchBytes: number
  // with batches in flight, how long a partial batch may wait to fill (0: send at once)
  linger: number
  // another batch encoding (Flume's avro source); by default the wire batch format
  encode?: (heads: readonly EventHead[]) => Buffer
}

interface Filling {
  heads: EventHead[]
  parts: Buffer[] // or: input batches already in the wire format (InputBatch.lines)
  count: number
  bytes: number
  shares: InputShare[]
}

const newFilling = (): Filling => ({ heads: [], parts: [], count: 0, bytes: 0, shares: [] })

export class OutBatches {
  // sealed, in send order
  private queue: OutBatch[] = []
  private filling: Filling = newFilling()
  private lingerTimer?: NodeJS.Timeout
  private nextSeq = 0
  private queuedEvents = 0

  // `lingerOver`: a partial batch waited --linger; it is sealed, and may go
  constructor(
    private readonly options: BatchingOptions,
    private readonly lingerOver: () => void,
  ) {}

  // events queued or filling (not sent)
  get events(): number {
    return this.queuedEvents + this.filling.count
  }

  // something to send: a sealed batch, or a filling one that is not lingering
  get ready(): boolean {
    return this.queue.length > 0 || (this.filling.count > 0 && !this.lingerTimer)
  }

  get waiting(): boolean {
    return this.queue.length > 0 || this.filling.count > 0
  }

  // Puts an input batch (its share of the out batches) into the filling batch, sealing it as it fills.
  add(batch: InputBatch, share: InputShare): void {
    const { batchEvents, batchBytes } = this.options
    const lines = batch.lines
    if (lines && !this.options.encode && batch.count! <= batchEvents && lines.length <= batchBytes) {
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
  }

  // With batches in flight, a partial batch waits --linger to fill before it may go.
  lingerWhileBusy(): void {
    if (this.filling.count && this.options.linger > 0 && !this.lingerTimer) {
      this.lingerTimer = setTimeout(() => {
        this.lingerTimer = undefined
        this.seal()
        this.lingerOver()
      }, this.options.linger)
    }
  }

  // Closes the filling batch and queues it.
  seal(): void {
    const f = this.filling
    if (!f.count) return
    if (this.lingerTimer) clearTimeout(this.lingerTimer)
    this.lingerTimer = undefined
    const payload = f.parts.length ? contiguous(f.parts) : this.options.encode ? this.options.encode(f.heads) : encodeBatch(f.heads)
    this.queue.push({ seq: this.nextSeq++, payload, count: f.count, shares: f.shares })
    this.queuedEvents += f.count
    this.filling = newFilling()
  }

  // The next batch to send (call when `ready`): the oldest sealed one, else the filling one.
  take(): OutBatch {
    if (!this.queue.length) this.seal()
    const batch = this.queue.shift()!
    this.queuedEvents -= batch.count
    return batch
  }

  // A connection's unacked batches go again: back to the front, in their original order, ahead
  // of anything newer. Returns their events.
  requeue(unacked: OutBatch[]): number {
    let n = 0
    for (const b of unacked) n += b.count
    this.queuedEvents += n
    this.queue = [...unacked, ...this.queue].sort((a, b) => a.seq - b.seq)
    return n
  }

  close(): void {
    if (this.lingerTimer) clearTimeout(this.lingerTimer)
  }
}

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
