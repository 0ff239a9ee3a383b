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
