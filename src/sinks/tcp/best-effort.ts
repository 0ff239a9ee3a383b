import { eventCount, type EventInput, type InputBatch } from '../../core/link/reader.js'
import { warn } from '../../core/log.js'
import type { Counters } from '../../core/metrics.js'

// ship --best-effort (Flume OG's agentBESink): the source never waits for the collectors. Every
// batch is acked upstream as soon as it is read; it is sent if the sink holds less than its
// window, and dropped otherwise (collectors down or slower than the input). Drops are counted
// (EventDropCount), said on stderr at most every `reportEvery` ms and at the end; memory stays
// bounded by the window. The default (no flag) is end to end: nothing is ever dropped.
export class BestEffort {
  dropped = 0
  private reported = 0
  private lastReport = 0

  constructor(
    private readonly input: EventInput,
    private readonly counters: Counters,
    private readonly window: number,
    private readonly reportEvery = 10_000,
  ) {}

  // Acks the batch upstream at once; true when the sink has room for it, false when it is dropped.
  admit(batch: InputBatch, held: number): boolean {
    this.input.done(batch)
    if (held + batch.bytes <= this.window) return true
    this.dropped += eventCount(batch)
    this.counters.add('EventDropCount', eventCount(batch))
    if (Date.now() - this.lastReport >= this.reportEvery) this.report()
    return false
  }

  // Events still unsent at the end (collectors down past the shutdown timeout) are dropped too.
  finish(unsent: number): void {
    if (unsent) {
      this.dropped += unsent
      this.counters.add('EventDropCount', unsent)
    }
    if (this.dropped > this.reported) this.report('in all')
  }

  private report(when = 'so far'): void {
    this.lastReport = Date.now()
    this.reported = this.dropped
    warn(`--best-effort: dropped ${this.dropped} event(s) ${when} that the collectors could not take (counted in EventDropCount)`)
  }
}
