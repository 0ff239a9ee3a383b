import type { OutBatch } from './out-batch.js'

// The batches a connection sent and still waits an answer for, by id (frame id or Avro serial),
// with the deadline: once the oldest has waited longer than ackTimeout, onExpired runs (the
// connection gives up and its batches go again elsewhere).
export class InFlight {
  private readonly sent = new Map<number, { batch: OutBatch; sentAt: number }>()
  private timer?: NodeJS.Timeout

  constructor(
    private readonly ackTimeout: number,
    private readonly onExpired: () => void,
  ) {}

  get size(): number {
    return this.sent.size
  }

  add(id: number, batch: OutBatch): void {
    this.sent.set(id, { batch, sentAt: Date.now() })
    if (this.timer) return
    const every = Math.max(50, Math.min(1000, this.ackTimeout / 4))
    this.timer = setInterval(() => {
      const oldest = this.sent.values().next().value
      if (oldest && Date.now() - oldest.sentAt > this.ackTimeout) this.onExpired()
    }, every)
    this.timer.unref()
  }

  has(id: number): boolean {
    return this.sent.has(id)
  }

  // the batch answered under id, now no longer in flight (undefined: one we already gave up on)
  take(id: number): OutBatch | undefined {
    const entry = this.sent.get(id)
    if (!entry) return undefined
    this.sent.delete(id)
    if (this.sent.size === 0) this.stop()
    return entry.batch
  }

  // every batch still unanswered, in send order; nothing is in flight afterwards
  drain(): OutBatch[] {
    this.stop()
    const out = [...this.sent.values()].map((e) => e.batch)
    this.sent.clear()
    return out
  }

  private stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
  }
}
