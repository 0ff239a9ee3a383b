// Newline framing over raw bytes with a hard bound on memory. A line longer than maxLine is cut
// into pieces of at most maxLine bytes (cut on a UTF-8 character boundary where possible); every
// piece but the last is flagged `cont`. With truncate, the rest of an oversize line is skipped and
// the kept piece is flagged `truncated`. Nothing is ever held beyond maxLine bytes.

export interface LinePiece {
  bytes: Buffer
  cont?: boolean
  truncated?: boolean
}

export interface LineSplitterOptions {
  maxLine: number
  truncate?: boolean
  // called once per oversize line, to count and report it
  onOversize?: () => void
}

// Back up from `end` to the start of a UTF-8 character so a cut never splits one.
const charBoundary = (buf: Buffer, start: number, end: number): number => {
  let i = end
  for (let k = 0; k < 3 && i > start + 1; k++) {
    if ((buf[i]! & 0xc0) !== 0x80) return i
    i--
  }
  return (buf[i]! & 0xc0) !== 0x80 ? i : end
}

export class LineSplitter {
  private pending: Buffer[] = []
  private pendingLength = 0
  private skipping = false // inside the dropped tail of a truncated line
  private inOversize = false // the current line has already been cut at least once
  constructor(private readonly options: LineSplitterOptions) {}

  // Splits a chunk, calling `emit` for each complete line or piece.
  push(chunk: Buffer, emit: (piece: LinePiece) => void): void {
    const max = this.options.maxLine
    let start = 0
    while (start < chunk.length) {
      const nl = chunk.indexOf(10, start)
      const end = nl === -1 ? chunk.length : nl
      if (this.skipping) {
        if (nl === -1) return
        this.skipping = false
        this.inOversize = false
        start = nl + 1
        continue
      }
      if (this.pendingLength === 0 && nl !== -1 && end - start <= max) {
        // the common case: a whole line inside this chunk, no copy
        emit(this.finish(chunk.subarray(start, end)))
        start = nl + 1
        continue
      }
      // accumulate the part of the line inside this chunk, cutting whenever we pass maxLine
      let from = start
      while (this.pendingLength + (end - from) > max) {
        const room = max - this.pendingLength
        let cut = from + room
        if (this.pendingLength === 0) cut = charBoundary(chunk, from, cut)
        this.pending.push(chunk.subarray(from, cut))
        this.pendingLength += cut - from
        from = cut
        const piece = this.take()
        if (!this.inOversize) this.options.onOversize?.()
        this.inOversize = true
        if (this.options.truncate) {
          emit({ bytes: piece, truncated: true })
          this.skipping = true
          break
        }
        emit({ bytes: piece, cont: true })
      }
      if (this.skipping) {
        if (nl === -1) return
        this.skipping = false
        this.inOversize = false
        start = nl + 1
        continue
      }
      if (end > from) {
        this.pending.push(Buffer.from(chunk.subarray(from, end)))
        this.pendingLength += end - from
      }
      if (nl === -1) return
      emit(this.finish(this.take()))
      start = nl + 1
    }
  }

  // The bytes after the last newline, if any: a line without its terminator.
  rest(): Buffer | undefined {
    if (this.skipping || this.pendingLength === 0) return undefined
    return this.take()
  }

  get buffered(): number {
    return this.pendingLength
  }

  private finish(bytes: Buffer): LinePiece {
    // strip a CR of CRLF line ends? No: bytes are kept exactly as written.
    this.inOversize = false
    return { bytes }
  }

  private take(): Buffer {
    const out = this.pending.length === 1 ? this.pending[0]! : Buffer.concat(this.pending, this.pendingLength)
    this.pending = []
    this.pendingLength = 0
    return out
  }
}
