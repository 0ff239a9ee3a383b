import { isHeadBlock, type HeadBlock, type Heads } from '../head-block.js'

export const CHUNK = 64 * 1024
// the longest line sparse cursors leave without its cursor
const SPARSE_LINE_MAX = CHUNK
// Sparse, a run of a collector's batch lines at least this long is written as it lies, its last
// line's cursor after it (one writev, no copy into the chunk); shorter ones are copied
const DIRECT_MIN = CHUNK / 2
// and at most this long under one cursor (a reader holds up to its frame, 8 MiB at least, plus
// 256 KiB of lines for one cursor: docs/protocol.md §1)
const DIRECT_MAX = 1024 * 1024

// Writes a run of lines as they lie: `lines` (their last "}\n" left out), then `cursor` (the
// last line's cursor, "}" and newline); `written` once the stream is done with both.
export type DirectWrite = (lines: Buffer, cursor: Buffer, written: () => void) => void

// The writer's render buffer: events rendered straight into one chunk, each head followed by its
// cursor, the closing brace and a newline. Per-event strings, a join and a UTF-8 encode of the
// join cost about three times as much (see BENCHMARKS.md, codec). Filled chunks are handed to the
// stream with take() and come back with giveBack() once the stream is done with them.
export class RenderBuffer {
  position = 0 // events rendered (the last position handed out)
  bytesOut = 0 // bytes rendered
  chunkBytes = 0 // bytes in the chunk not yet taken
  taken = 0 // bytes of the chunk the last take() gave up
  private chunk: Buffer = Buffer.allocUnsafe(CHUNK * 2)
  private readonly spare: Buffer[] = []
  // where new chunks come from when the heads written render fastest into buffers of their own
  private chunkSource?: (size: number) => Buffer | undefined
  private readonly cursor: CursorTail
  private readonly tail: number
  // sparse cursors (docs/protocol.md §1): only the last line of each chunk handed on carries one;
  // set while a directly linked reader that counts lines asked for it (SPARSE)
  private sparse = false
  private lastBare = false // the chunk's last line has no cursor (yet)

  // prefix: the cursor up to its position (`,"_ack":"<link>.<nonce>.`), withCursor false: none;
  // flush: hands the chunk to the stream (through take()) when it is well filled; direct: writes
  // runs of lines as they lie (sparse cursors), without it they are copied into the chunk
  constructor(
    prefix: string,
    private readonly withCursor: boolean,
    private readonly flush: () => void,
    private readonly direct?: DirectWrite,
  ) {
    this.cursor = new CursorTail(Buffer.from(prefix, 'latin1'))
    this.tail = prefix.length + 24
  }

  // Renders events (heads: event JSON without the closing brace, or a block that renders them).
  // A full chunk is handed on at once, so a large write never grows (and copies) the buffer.
  heads(heads: Heads): void {
    const n = heads.length
    const tail = this.tail
    if (isHeadBlock(heads)) {
      if (heads.chunk && !this.chunkSource) this.chunkSource = heads.chunk.bind(heads)
      // without a cursor on every line, runs of whole lines (a collector's batch, tail's lines) go as runs
      const run = heads.lineRun && heads.renderRun && (this.sparse || !this.withCursor) ? new BlockLines(heads) : undefined
      for (let i = 0; i < n; i++) {
        if (run) {
          run.i = i
          this.bare(run)
          i = run.i
          if (i === n) break
        }
        this.room(heads.size(i) + tail)
        this.endEvent(heads.render(i, this.chunk, this.chunkBytes))
      }
    } else {
      for (let i = 0; i < n; i++) {
        const head = heads[i]!
        this.room((typeof head === 'string' ? head.length * 3 : head.length) + tail)
        const buf = this.chunk as RawBuffer
        const at = this.chunkBytes
        if (typeof head === 'string') this.endEvent(at + buf.utf8Write(head, at))
        else {
          buf.set(head, at)
          this.endEvent(at + head.length)
        }
      }
    }
  }

  // The same for events given as one run of bytes: event heads, each followed by "\n" (a channel
  // block). No object per event: without a cursor on every line they go as runs (bare); with one,
  // each line is copied and its cursor added.
  lines(lines: Buffer): void {
    const tail = this.tail
    const run = this.sparse || !this.withCursor ? new OpenLines(lines) : undefined
    for (let at = 0; at < lines.length; ) {
      if (run) {
        run.at = at
        this.bare(run)
        at = run.at
        if (at >= lines.length) break
      }
      let nl = lines.indexOf(0x0a, at)
      if (nl === -1) nl = lines.length
      this.room(nl - at + tail)
      this.endEvent(this.chunkBytes + lines.copy(this.chunk, this.chunkBytes, at, nl))
      at = nl + 1
    }
  }

  // Without a cursor on every line (sparse, or none at all): the lines of `run` from where it
  // stands go into the chunk a chunk's worth at a time, as the run copies them; sparse, a long
  // enough run of lines that lie as they are written is written as it lies instead (direct).
  // Stops at a line it leaves to the caller (one line at a time, with its cursor if due): longer
  // than the room, or than a sparse line may be without its cursor, or not a whole line.
  private bare(run: BareLines): void {
    const max = this.withCursor ? SPARSE_LINE_MAX : Number.MAX_SAFE_INTEGER
    while (run.more()) {
      if (this.direct && this.sparse && run.lieAs) {
        const lines = run.lieAs(DIRECT_MAX, max, DIRECT_MIN)
        if (lines) {
          this.writeDirect(lines, run)
          continue
        }
      }
      // the room left, less a whole cursor's room after the last line (take() may put one there)
      let free = this.chunk.length - this.chunkBytes - this.tail
      if (free < CHUNK / 2 && this.chunkBytes > 0) {
        this.flush()
        free = this.chunk.length - this.chunkBytes - this.tail
      }
      const n = run.copy(this.chunk, this.chunkBytes, free, max)
      if (n === 0) return
      this.position += n
      this.bytesOut += run.end - this.chunkBytes
      this.chunkBytes = run.end
      this.lastBare = this.sparse
    }
  }

  // `lines` (run.count whole lines, "}\n" each) written as they lie, after what the chunk holds;
  // the last one's "}\n" is replaced by its cursor, in a buffer of its own.
  private writeDirect(lines: Buffer, run: BareLines): void {
    if (this.chunkBytes > 0) this.flush()
    this.position += run.count
    const cursor = Buffer.from(this.cursor.at(this.position))
    this.bytesOut += lines.length - 2 + cursor.length
    this.direct!(lines.subarray(0, lines.length - 2), cursor, run.hold!())
  }

  // Sparse cursors on or off (from the next line on). Switched back on, the cursors go on from
  // the current position.
  setSparse(sparse: boolean): void {
    if (!this.withCursor || sparse === this.sparse) return
    this.sparse = sparse
    if (!sparse) this.cursor.seek(this.position)
  }

  // Makes sure the chunk has `room` more bytes: hands a well-filled chunk to the stream first.
  private room(room: number): void {
    if (this.chunkBytes + room > this.chunk.length) {
      if (this.chunkBytes >= CHUNK / 2) this.flush()
      if (this.chunkBytes + room > this.chunk.length) this.grow(room)
    }
  }

  // A head was rendered up to `at`: the cursor, the closing brace and the newline follow (with a
  // cursor, all of it one copy: two copies and three byte stores cost about twice as much).
  private endEvent(at: number): void {
    const buf = this.chunk
    this.position++
    // sparse, a line longer than a reader frames by default still carries its cursor: a reader
    // that meets it at its frame's edge knows it for a tsf event only by that
    if (this.withCursor && (!this.sparse || at - this.chunkBytes > SPARSE_LINE_MAX)) {
      const tail = this.sparse ? this.cursor.at(this.position) : this.cursor.next()
      buf.set(tail, at)
      at += tail.length
      this.lastBare = false
    } else {
      buf[at++] = 0x7d // }
      buf[at++] = 0x0a // \n
      this.lastBare = this.sparse
    }
    this.bytesOut += at - this.chunkBytes
    this.chunkBytes = at
  }

  // Makes room for at least `need` more bytes, keeping what the chunk holds.
  private grow(need: number): void {
    const bigger = Buffer.allocUnsafe(Math.max(CHUNK * 2, this.chunkBytes + need + CHUNK))
    this.chunk.copy(bigger, 0, 0, this.chunkBytes)
    this.chunk = bigger
  }

  // Gives up the chunk (its first `taken` bytes are the rendered events) and goes on in another
  // buffer: the stream owns that memory until its write is done, then giveBack() returns it for
  // reuse (fresh ones each time grew the heap by megabytes of garbage before a collection).
  take(): Buffer {
    if (this.lastBare) this.lastCursor()
    this.taken = this.chunkBytes
    const full = this.chunk
    this.chunk = this.spare.pop() ?? this.chunkSource?.(CHUNK * 2) ?? Buffer.allocUnsafe(CHUNK * 2)
    this.chunkBytes = 0
    return full
  }

  // Sparse: the chunk's last line gets its cursor (its "}\n" becomes `<prefix><position>"}\n`), so
  // the reader can vouch for the lines before it (their count) and ack them without waiting for
  // the next chunk. room() kept a whole cursor's room after every line.
  private lastCursor(): void {
    this.lastBare = false
    const at = this.chunkBytes - 2
    if (at < 0) return
    const tail = this.cursor.at(this.position)
    this.chunk.set(tail, at)
    this.chunkBytes = at + tail.length
    this.bytesOut += tail.length - 2
  }

  // A chunk take() handed out is free again.
  giveBack(full: Buffer): void {
    if (full.length === CHUNK * 2 && this.spare.length < 8) this.spare.push(full)
  }
}

// Lines a writer without a cursor on every line renders as runs (RenderBuffer.bare): each source
// copies its next lines, "head}\n" each, into the chunk its own way.
interface BareLines {
  // Copies into buf at `at` as many of the next whole lines as fit in `room` bytes, each at most
  // `max` bytes, rendered "head}\n"; returns how many (0: the next line is not such a line, or does
  // not fit) and sets `end`, the offset after them.
  copy(buf: Buffer, at: number, room: number, max: number): number
  end: number
  // lines left
  more(): boolean
  // Lines that lie as they are rendered: the next ones, at least `min` and at most `room` bytes
  // (each at most `max`), as they lie (then `count` of them, held with hold() while written),
  // or undefined (then copy() them).
  lieAs?(room: number, max: number, min: number): Buffer | undefined
  count: number
  hold?(): () => void
}

// A block's heads rendered as runs of whole lines (HeadBlock.lineRun, renderRun): a collector's
// batch, whose lines lie as they are rendered (lineBytes), or the lines tail read.
class BlockLines implements BareLines {
  i = 0 // the next head
  end = 0
  count = 0
  readonly hold?: () => () => void

  constructor(private readonly heads: HeadBlock) {
    if (heads.lineBytes && heads.hold) this.hold = heads.hold.bind(heads)
  }

  more(): boolean {
    return this.i < this.heads.length
  }

  copy(buf: Buffer, at: number, room: number, max: number): number {
    const k = this.heads.lineRun!(this.i, room, max)
    if (k === 0) return 0
    this.end = this.heads.renderRun!(this.i, k, buf, at)
    this.i += k
    return k
  }

  lieAs(room: number, max: number, min: number): Buffer | undefined {
    if (!this.hold) return undefined
    const k = this.heads.lineRun!(this.i, room, max)
    if (k === 0) return undefined
    const lines = this.heads.lineBytes!(this.i, k)
    if (lines.length < min) return undefined
    this.count = k
    this.i += k
    return lines
  }
}

// Event heads each followed by "\n" (a channel block): as many lines as fit are copied into the
// chunk at once, at the end of its free room, and each moves down within the chunk (copyWithin)
// and gets its "}" and newline. A copy per line out of `lines` costs about twice as much
// (Buffer.copy's checks and view per call; BENCHMARKS.md).
class OpenLines implements BareLines {
  at = 0 // the next line
  end = 0
  count = 0

  constructor(private readonly lines: Buffer) {}

  more(): boolean {
    return this.at < this.lines.length
  }

  copy(chunk: Buffer, to: number, free: number, max: number): number {
    const lines = this.lines
    const at = this.at
    if (free < 16) return 0
    // at most this many bytes of lines, leaving a slack of one byte per line for the "}" of up
    // to `slack` lines (the copy stops early if the lines are shorter than that)
    const slack = free >> 3
    let end = lines.length
    if (end - at > free - slack) {
      end = lines.lastIndexOf(0x0a, at + free - slack - 1) + 1
      if (end <= at) return 0 // not one whole line fits
    }
    let src = to + free - (end - at)
    const srcEnd = src + (end - at)
    chunk.set(end - at === lines.length ? lines : lines.subarray(at, end), src)
    let p = to
    let n = 0
    // p < src: the slack keeps the moved line, "}" and newline short of the bytes not moved yet
    while (src < srcEnd && p < src) {
      const nl = chunk.indexOf(0x0a, src)
      if (nl < 0 || nl >= srcEnd) break // a last line without its newline: the caller's
      const len = nl - src
      if (len > max) break // it keeps its cursor: the caller's
      chunk.copyWithin(p, src, nl)
      p += len
      chunk[p++] = 0x7d // }
      chunk[p++] = 0x0a
      src = nl + 1
      n++
    }
    this.at = end - (srcEnd - src) // the first line not moved
    this.end = p
    return n
  }
}

// The end of every event line with a cursor: `<prefix><position>"}` and the newline, kept as one
// buffer whose position digits are incremented in place. Positions go 1, 2, 3 …, so the next end
// is (nearly always) one digit change, and it goes into the chunk with one copy.
class CursorTail {
  private bytes: Buffer
  private digitsEnd: number // just past the last digit

  constructor(private readonly prefix: Buffer) {
    this.bytes = Buffer.concat([prefix, Buffer.from('0"}\n', 'latin1')])
    this.digitsEnd = prefix.length + 1
  }

  // The end of the line for `position` (once per chunk with sparse cursors); next() goes on after it.
  at(position: number): Buffer {
    this.seek(position - 1)
    return this.next()
  }

  // The next call of next() gives position + 1.
  seek(position: number): void {
    const digits = Buffer.from(String(position), 'latin1')
    this.bytes = Buffer.concat([this.prefix, digits, Buffer.from('"}\n', 'latin1')])
    this.digitsEnd = this.prefix.length + digits.length
  }

  // Advances to the next position; returns the whole end of the line.
  next(): Buffer {
    const bytes = this.bytes
    const first = this.prefix.length
    let i = this.digitsEnd - 1
    while (i >= first && bytes[i] === 0x39) bytes[i--] = 0x30
    if (i >= first) bytes[i]!++
    else {
      // 9…9 became 0…0: one digit more, a 1 in front
      this.bytes = Buffer.concat([this.prefix, Buffer.from('1', 'latin1'), bytes.subarray(first)])
      this.digitsEnd++
    }
    return this.bytes
  }
}

// Node's direct encoders (Buffer.write without the argument juggling); present since Node 0.x but
// not in @types/node.
type RawBuffer = Buffer & { utf8Write(s: string, offset: number): number }
