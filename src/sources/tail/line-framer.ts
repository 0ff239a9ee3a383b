// Newline framing of one file with the byte offset just past each line, so that a checkpoint
// can name the exact place to resume. Like core/lines.ts, a line longer than maxLine is cut
// into pieces (every piece but the last marked cont, each piece resumable at its own end);
// with truncate, the kept piece is held until the line's newline so that its checkpoint
// lies past the dropped rest.

export const WHOLE = 0
export const CONT = 1
export const TRUNCATED = 2
export type PieceKind = typeof WHOLE | typeof CONT | typeof TRUNCATED

// bytes: the line without its newline; end: the file offset just past it
export type LineSink = (bytes: Buffer, end: number, kind: PieceKind) => void

// Back up from `cut` to the start of a UTF-8 character so a cut never splits one.
const charBoundary = (buf: Buffer, from: number, cut: number): number => {
  for (let i = cut, k = 0; k < 4 && i > from; k++, i--) if ((buf[i]! & 0xc0) !== 0x80) return i
  return cut
}

export class LineFramer {
  private pending: Buffer[] = []
  private pendingLength = 0
  private held?: Buffer // the kept piece of a line being truncated
  oversize = 0

  constructor(private readonly maxLine: number, private readonly truncate: boolean) {}

  // Frames a chunk read at file offset `at`.
  push(chunk: Buffer, at: number, sink: LineSink): void {
    const max = this.maxLine
    const n = chunk.length
    let start = 0
    while (start < n) {
      const nl = chunk.indexOf(10, start)
      if (this.held) {
        if (nl === -1) return
        sink(this.held, at + nl + 1, TRUNCATED)
        this.held = undefined
        start = nl + 1
        continue
      }
      if (this.pendingLength === 0 && nl !== -1 && nl - start <= max) {
        // the common case: a whole line inside this chunk, no copy
        sink(chunk.subarray(start, nl), at + nl + 1, WHOLE)
        start = nl + 1
        continue
      }
      const end = nl === -1 ? n : nl
      let from = start
      while (this.pendingLength + (end - from) > max) {
        let cut = from + (max - this.pendingLength)
        if (cut > from) cut = charBoundary(chunk, from, cut)
        const piece = this.take(chunk.subarray(from, cut))
        from = cut
        if (piece.length === 0) break
        if (this.truncate) {
          if (!this.held) this.oversize++
          this.held = Buffer.from(piece)
          break
        }
        this.oversize += this.inLong ? 0 : 1
        this.inLong = true
        sink(piece, at + cut, CONT)
      }
      if (this.held) {
        if (nl === -1) return
        sink(this.held, at + nl + 1, TRUNCATED)
        this.held = undefined
        start = nl + 1
        continue
      }
      if (end > from) {
        this.pending.push(Buffer.from(chunk.subarray(from, end)))
        this.pendingLength += end - from
      }
      if (nl === -1) return
      sink(this.take(), at + nl + 1, WHOLE)
      this.inLong = false
      start = nl + 1
    }
  }

  private inLong = false

  // At the end of a file that will not grow (no -F, or rotated away): the unterminated rest.
  flush(end: number, sink: LineSink): void {
    if (this.held) {
      sink(this.held, end, TRUNCATED)
      this.held = undefined
    } else if (this.pendingLength) sink(this.take(), end, WHOLE)
    this.inLong = false
  }

  // neither inside an oversize line nor holding a truncated one: pending bytes (if any) are
  // the start of an ordinary line that the next newline completes
  get ordinary(): boolean {
    return !this.held && !this.inLong
  }

  // bytes held that are not yet a line
  get buffered(): number {
    return this.pendingLength + (this.held ? 1 : 0)
  }

  reset(): void {
    this.pending = []
    this.pendingLength = 0
    this.held = undefined
    this.inLong = false
  }

  private take(extra?: Buffer): Buffer {
    if (extra && extra.length) {
      this.pending.push(extra)
      this.pendingLength += extra.length
    }
    const out = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingLength)
    this.pending = []
    this.pendingLength = 0
    return out
  }
}
