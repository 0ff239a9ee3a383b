import type { Counters } from '../../core/metrics.js'
import { warnOnce } from '../../core/log.js'

// One bound on the bytes all sender connections hold at once (partial frames, frames waiting to be
// handled, inflated batches). A connection whose bytes take the total past the bound stops reading
// until the total is back under it: senders wait in TCP, the collector never grows without bound.
// Stalled senders still lose their connection to --read-timeout, which frees what they held.
export class MemoryBudget {
  private used = 0
  private readonly waiting = new Set<() => void>()
  constructor(readonly limit: number) {}

  get held(): number {
    return this.used
  }

  get over(): boolean {
    return this.used > this.limit
  }

  change(delta: number): void {
    this.used += delta
    if (delta < 0 && this.used <= this.limit && this.waiting.size) {
      const wake = [...this.waiting]
      this.waiting.clear()
      for (const resume of wake) resume()
    }
  }

  // resume runs once the total is back under the bound
  wait(resume: () => void): void {
    this.waiting.add(resume)
  }

  cancel(resume: () => void): void {
    this.waiting.delete(resume)
  }
}

// One connection's share of a MemoryBudget (--listen and --flume-avro sessions alike): update()
// keeps it at what the connection holds now; when that grew and the total is past the bound,
// reading pauses (pause) until the total drops, then wake() runs and the session resumes reading
// if nothing else holds it paused.
export class BudgetShare {
  private held = 0
  paused = false
  constructor(
    private readonly budget: MemoryBudget,
    private readonly counters: Counters,
    private readonly pause: () => void,
    private readonly resume: () => void,
  ) {}

  update(now: number, closed: boolean): void {
    const delta = now - this.held
    this.held = now
    if (delta) this.budget.change(delta)
    if (delta > 0 && this.budget.over && !this.paused && !closed) {
      this.paused = true
      this.counters.add('ReadPausedCount')
      warnOnce(
        'memory-budget',
        `senders hold more than --max-buffer ${this.budget.limit} bytes: reading paused until that drops (said once)`,
      )
      this.pause()
      this.budget.wait(this.wake)
    }
  }

  // the connection is gone: it no longer waits for room
  cancel(): void {
    this.budget.cancel(this.wake)
  }

  private readonly wake = (): void => {
    this.paused = false
    this.resume()
  }
}
