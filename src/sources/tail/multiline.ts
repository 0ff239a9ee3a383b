import { WHOLE, type LineSink, type PieceKind } from '../../core/lines.js'

// Multi-line events (Java stack traces): a line matching `start` begins a new event, any other
// line is appended to the current one. An event is emitted when the next one starts, when it
// would grow past `max` bytes, when it has waited `timeout` (the caller asks: flush()), or at
// the end of a file. Pieces of an oversize line pass through as events of their own.

export class Multiline {
  private parts: Buffer[] = []
  private length = 0
  private end = 0
  // when the first line of the pending event arrived (0: nothing pending)
  since = 0

  constructor(
    private readonly start: RegExp,
    private readonly max: number,
  ) {}

  push(bytes: Buffer, end: number, kind: PieceKind, sink: LineSink): void {
    if (kind !== WHOLE) {
      this.flush(sink)
      sink(bytes, end, kind)
      return
    }
    const begins = this.length === 0 && this.parts.length === 0
    if (!begins && (this.start.test(bytes.toString('utf8')) || this.length + 1 + bytes.length > this.max)) this.flush(sink)
    if (this.parts.length === 0) this.since = Date.now()
    else this.length += 1
    this.parts.push(Buffer.from(bytes)) // the caller's buffer is reused
    this.length += bytes.length
    this.end = end
  }

  get pending(): boolean {
    return this.parts.length > 0
  }

  flush(sink: LineSink): void {
    if (this.parts.length === 0) return
    const parts = this.parts
    let body: Buffer
    if (parts.length === 1) body = parts[0]!
    else {
      body = Buffer.allocUnsafe(this.length)
      let at = 0
      parts.forEach((p, i) => {
        if (i) body[at++] = 10
        at += p.copy(body, at)
      })
    }
    this.parts = []
    this.length = 0
    this.since = 0
    sink(body, this.end, WHOLE)
  }

  reset(): void {
    this.parts = []
    this.length = 0
    this.since = 0
  }
}
