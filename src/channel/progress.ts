import { formatBytes } from '../core/units.js'
import { info } from '../core/log.js'

// A reader draining a backlog (after an outage of its downstream, or a restart): on a terminal, one
// progress line rewritten in place at most once a second; once caught up, one summary line (also
// when stderr is not a terminal, where the live line would only fill a log). Backlogs that drain
// within a second say nothing.

const WORTH_SAYING_MS = 1000

export class DrainProgress {
  private readonly started = Date.now()
  private timer?: NodeJS.Timeout
  private taken = 0
  private live = false
  private finished = false

  constructor(
    private readonly reader: string,
    private readonly events: number, // the backlog when the reader started
    private readonly bytes: number,
    private readonly tty = Boolean(process.stderr.isTTY),
  ) {
    if (events <= 0) {
      this.finished = true
      return
    }
    if (this.tty) {
      this.timer = setInterval(() => this.draw(), 1000)
      this.timer.unref()
    }
  }

  // Events handed downstream.
  took(events: number): void {
    this.taken += events
    if (!this.finished && this.taken >= this.events) this.done()
  }

  private draw(): void {
    const s = (Date.now() - this.started) / 1000
    const rate = this.takenBytes() / s
    const left = Math.max(0, this.bytes - this.takenBytes())
    const pct = Math.min(100, Math.floor((this.taken / this.events) * 100))
    const eta = rate > 0 ? `, about ${Math.ceil(left / rate)} s left` : ''
    process.stderr.write(
      `\r\x1b[Ktsf channel: reader ${this.reader}: draining its backlog: ${this.taken} of ${this.events} events (${pct}%), ${formatBytes(left)} left at ${formatBytes(rate)}/s${eta}`,
    )
    this.live = true
  }

  // bytes of the backlog taken, in proportion to its events (records differ little in size)
  private takenBytes(): number {
    return Math.round((this.bytes * Math.min(this.taken, this.events)) / this.events)
  }

  // Caught up (or stopping): the summary, if the drain was long enough to be worth a line.
  done(): void {
    if (this.finished) return
    this.finished = true
    if (this.timer) clearInterval(this.timer)
    if (this.live) process.stderr.write('\r\x1b[K')
    const ms = Date.now() - this.started
    if (ms < WORTH_SAYING_MS && this.taken >= this.events) return
    const s = ms / 1000
    const what = this.taken >= this.events ? 'drained its backlog' : 'stopped while draining its backlog'
    info(
      `reader ${this.reader}: ${what}: ${Math.min(this.taken, this.events)} of ${this.events} events, ${formatBytes(this.takenBytes())} in ${s.toFixed(1)} s (${formatBytes(this.takenBytes() / Math.max(s, 0.001))}/s)`,
    )
  }
}
