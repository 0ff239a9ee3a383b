import { setBeforeLine } from './log.js'

// A progress line on stderr for long work (tail catching up, a spool backlog): drawn at start, then
// redrawn in place at most once a second, and only when stderr is a terminal, so logs read by
// programs never see it. The caller ends work that took a while with one summary line.
export class Progress {
  private timer?: NodeJS.Timeout
  private shown = false
  private stopped = false
  private readonly startedAt = Date.now()

  constructor(
    private readonly prefix: string,
    // the line now, or undefined when there is nothing to show (the line is cleared)
    private readonly line: () => string | undefined,
    private readonly every = 1000,
  ) {}

  start(): void {
    if (!process.stderr.isTTY) return
    this.draw()
    this.timer = setInterval(() => this.draw(), this.every)
    this.timer.unref()
    setBeforeLine(() => this.clear())
  }

  private draw(): void {
    const text = this.line()
    if (text === undefined) return this.clear()
    this.shown = true
    process.stderr.write(`\r\x1b[K${this.prefix}: ${text}`)
  }

  private clear(): void {
    if (this.shown) process.stderr.write('\r\x1b[K')
    this.shown = false
  }

  // seconds since start
  get elapsed(): number {
    return (Date.now() - this.startedAt) / 1000
  }

  // Work worth a summary line: it took a second, or a MiB.
  worthSaying(bytes: number): boolean {
    return this.elapsed >= 1 || bytes >= 1024 * 1024
  }

  // Ends the line (the caller says its summary, if any, after this).
  stop(): void {
    if (this.stopped) return
    this.stopped = true
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    this.clear()
    setBeforeLine(undefined)
  }
}

// Measures a rate between two looks at a growing total.
export class Rate {
  private last = 0
  private at = Date.now()
  perSecond(total: number): number {
    const now = Date.now()
    const r = (total - this.last) / Math.max(0.001, (now - this.at) / 1000)
    this.last = total
    this.at = now
    return r
  }
}

export const mib = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1)
