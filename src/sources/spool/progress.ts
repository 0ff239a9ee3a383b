// The progress line on a terminal: files done and left, and the read rate. Only when stderr is a
// TTY; a log read by a program never sees it.
export class ProgressLine {
  private timer?: NodeJS.Timeout
  private lastBytes = 0
  private lastAt = Date.now()
  private shown = false

  constructor(private readonly read: () => { done: number; left: number; bytes: number }, private readonly every = 500) {}

  start(): void {
    if (!process.stderr.isTTY) return
    this.draw()
    this.timer = setInterval(() => this.draw(), this.every)
    this.timer.unref()
  }

  private draw(): void {
    const { done, left, bytes } = this.read()
    const now = Date.now()
    const rate = (bytes - this.lastBytes) / 1024 / 1024 / Math.max(0.001, (now - this.lastAt) / 1000)
    this.lastBytes = bytes
    this.lastAt = now
    this.shown = true
    process.stderr.write(`\r\x1b[Ktsf spool: ${done} files done, ${left} left, ${rate.toFixed(1)} MiB/s`)
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer)
    this.timer = undefined
    if (this.shown) process.stderr.write('\r\x1b[K')
    this.shown = false
  }
}
