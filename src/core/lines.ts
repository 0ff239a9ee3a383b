// Newline framing over raw bytes with a hard bound on memory: the one framer of tsf (files, child
// output, stdin of every stage, plain TCP senders). A line longer than maxLine is cut into pieces
// of at most maxLine bytes (cut on a UTF-8 character boundary where possible); every piece but the
// last is CONT. With truncate, the rest of an oversize line is skipped and the kept piece, held
// until the line's newline (so that its end offset lies past the dropped rest), is TRUNCATED.
// Nothing is ever held beyond maxLine bytes. Each piece goes to a sink with the stream offset just
// past it (where a checkpoint resumes); no object is made per line.

export const WHOLE = 0
export const CONT = 1
export const TRUNCATED = 2
export type PieceKind = typeof WHOLE | typeof CONT | typeof TRUNCATED

// bytes: the line without its newline (valid only during the call: the caller's buffer may be
// reused); end: the stream offset just past it
export type LineSink = (bytes: Buffer, end: number, kind: PieceKind) => void

// region: complete lines, each with its newline, the first starting at stream offset `at`;
// returns how many bytes of it (whole lines) became events; the framer takes the rest
export type BlockSink = (region: Buffer, at: number) => number

// Back up from `cut` to the start of a UTF-8 character so a cut never splits one.
const charBoundary = (buf: Buffer, from: number, cut: number): number => {
  for (let i = cut, k = 0; k < 4 && i > from; k++, i--) if ((buf[i]! & 0xc0) !== 0x80) return i
  return cut
}

export class LineFramer {
  private pending: Buffer[] = []
  private pendingLength = 0
  private held?: Buffer // the kept piece of a line being truncated
  private inLong = false // the current line was cut at least once
  // oversize lines seen (each counted once)
  oversize = 0

  constructor(
    private maxLine: number,
    private readonly truncate = false,
    // called once per oversize line, to report it
    private readonly onOversize?: () => void,
  ) {}

  // Frames longer lines from here on (a link reader told a larger max-line by its writer); a line
  // already cut stays cut.
  raise(maxLine: number): void {
    if (maxLine > this.maxLine) this.maxLine = maxLine
  }

  // Frames a chunk that starts at stream offset `at`. With a block sink, the complete lines the
  // chunk holds go to it as one region where they can (a few native calls for the whole region
  // instead of a call per line); the framer takes what it leaves, the line the chunk completes and
  // the partial line it ends with. The events must be the same either way.
  pushBlocks(chunk: Buffer, at: number, sink: LineSink, block: BlockSink): void {
    if (!this.ordinary) return this.push(chunk, at, sink)
    let start = 0
    if (this.buffered) {
      const first = chunk.indexOf(10)
      if (first === -1) return this.push(chunk, at, sink)
      start = first + 1
      this.push(chunk.subarray(0, start), at, sink)
    }
    const last = chunk.lastIndexOf(10)
    if (last >= start) start += block(chunk.subarray(start, last + 1), at + start)
    if (start < chunk.length) this.push(chunk.subarray(start), at + start, sink)
  }

  // Frames a chunk that starts at stream offset `at`.
  push(chunk: Buffer, at: number, sink: LineSink): void {
    const max = this.maxLine
    const n = chunk.length
    let start = 0
    while (start < n) {
      const nl = chunk.indexOf(10, start)
      if (this.held) {
        if (nl === -1) return
        this.endTruncated(at + nl + 1, sink)
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
        if (!this.inLong) {
          this.oversize++
          this.onOversize?.()
        }
        this.inLong = true
        if (this.truncate) {
          this.held = Buffer.from(piece)
          break
        }
        sink(piece, at + cut, CONT)
      }
      if (this.held) {
        if (nl === -1) return
        this.endTruncated(at + nl + 1, sink)
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

  private endTruncated(end: number, sink: LineSink): void {
    const held = this.held!
    this.held = undefined
    this.inLong = false
    sink(held, end, TRUNCATED)
  }

  // At the end of a stream that will not grow: the unterminated rest, if any, is a line.
  flush(end: number, sink: LineSink): void {
    if (this.held) this.endTruncated(end, sink)
    else if (this.pendingLength) sink(this.take(), end, WHOLE)
    this.inLong = false
  }

  // The unterminated rest without framing it (a reader deciding whether it is a torn write).
  rest(): Buffer | undefined {
    if (this.held) {
      const held = this.held
      this.held = undefined
      return held
    }
    return this.pendingLength ? this.take() : undefined
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

// The same framer for callers that want one piece object per line (plain TCP senders); the hot
// paths use LineFramer's sink directly.
export interface LinePiece {
  bytes: Buffer
  cont?: boolean
  truncated?: boolean
}

export interface LineSplitterOptions {
  maxLine: number
  truncate?: boolean
  onOversize?: () => void
}

export class LineSplitter {
  private readonly framer: LineFramer
  constructor(options: LineSplitterOptions) {
    this.framer = new LineFramer(options.maxLine, options.truncate, options.onOversize)
  }

  push(chunk: Buffer, emit: (piece: LinePiece) => void): void {
    this.framer.push(chunk, 0, (bytes, _end, kind) =>
      emit(kind === WHOLE ? { bytes } : kind === CONT ? { bytes, cont: true } : { bytes, truncated: true }),
    )
  }

  rest(): Buffer | undefined {
    return this.framer.rest()
  }

  get buffered(): number {
    return this.framer.buffered
  }
}
