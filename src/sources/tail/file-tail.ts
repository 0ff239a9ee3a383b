import { closeSync, fstatSync, readSync } from 'node:fs'
import { encodeEnvelope, sourceEventHead, type EventHead } from '../../core/event.js'
import { CONT, LineFramer, TRUNCATED, type BlockSink, type LineSink } from '../../core/lines.js'
import type { Heads } from '../../core/head-block.js'
import { LineBlock } from '../file/line-block.js'
import { blockRegion } from '../file/block-lines.js'
import type { FileEntry } from './checkpoint-store.js'
import { readAt } from '../../core/read-at.js'
import { FINGERPRINT_BYTES, hashBytes, hashPieces, MARK_BYTES, type Mark } from '../file/identity.js'
import { Multiline } from './multiline.js'
import type { TimestampParser } from './timestamp.js'

// The reader of one open file: reads from where its current generation stands, frames lines,
// groups multi-line events and builds event heads. It knows nothing of rotation or acks: the
// engine decides when to read, when to let go, and what becomes durable.

export interface ReadConfig {
  maxLine: number
  truncate: boolean
  multiline?: { start: RegExp; timeout: number }
  timestamp?: TimestampParser
  host: string
  headers: Record<string, string>
}

export interface ReadResult {
  heads: Heads
  // the generation, offset and seq after the last of these heads
  entry: FileEntry
  pos: number
  seq: number
  // the file's identity as read up to pos (see identity.ts): the mark of the bytes before pos
  // (none when they were not at hand), and the generation's first bytes read so far
  mark?: Mark
  head: Buffer
}

// what a look at the open file found
export type FileCheck = 'grown' | 'same' | 'truncated'

// events per write (and per checkpoint step): short lines must not make a checkpoint step huge
const GROUP = 1024
const EMPTY: Buffer = Buffer.alloc(0)

export class FileTail {
  // bytes consumed from the file
  readPos: number
  // the offset just past the last emitted event, and its seq
  emitPos: number
  emitSeq: number
  size = 0
  nlink = 1
  // read to the current end at the last look
  atEof = false
  // moved away from (or deleted at) every watched path: finish, then let go
  rotated = false
  // when the file last gave us bytes (or was rotated): the rotate wait counts from here
  lastActivity = Date.now()
  // events written but not yet durable, per generation
  closed = false
  private framer: LineFramer
  private multiline?: Multiline
  private envelope: string
  // what was read last: `recent` holds the (at most MARK_BYTES) bytes before offset `chunkAt`,
  // `chunk` the bytes from there (the last chunk read, during a read() only). The marks of the
  // groups come from them, and `recent` alone, ending at readPos between reads, tells a rewrite.
  private recent: Buffer
  private chunk: Buffer = EMPTY
  private chunkAt: number
  // the generation's first bytes as read (at most FINGERPRINT_BYTES; a new Buffer as it grows)
  private head: Buffer
  private heads: EventHead[] = []
  private groups: ReadResult[] = []
  private now = 0
  private readonly sink: LineSink
  private readonly emit: LineSink

  // `head`: the first bytes of the file when its generation was adopted at `entry` (read from the
  // file when not given)
  constructor(
    readonly fd: number,
    public entry: FileEntry,
    public path: string,
    private readonly config: ReadConfig,
    head?: Buffer,
  ) {
    this.readPos = entry.pos
    this.emitPos = entry.pos
    this.emitSeq = entry.seq
    // adopted at a checkpoint: the bytes before it, as the adoption found them (their head and
    // mark were checked then)
    this.chunkAt = entry.pos
    this.recent = entry.pos > 0 ? readAt(fd, entry.pos - Math.min(entry.pos, MARK_BYTES), Math.min(entry.pos, MARK_BYTES)) : EMPTY
    this.head = head ?? this.adoptedHead()
    this.framer = new LineFramer(config.maxLine, config.truncate)
    if (config.multiline) this.multiline = new Multiline(config.multiline.start, config.maxLine)
    this.envelope = this.makeEnvelope()
    const ts = config.timestamp
    this.emit = (bytes, end, kind) => {
      const seq = ++this.emitSeq
      const time = ts ? (ts(bytes.toString('utf8')) ?? this.now) : this.now
      this.heads.push(
        sourceEventHead(
          bytes,
          { ts: time, src: this.entry.src, seq, pos: end, cont: kind === CONT, truncated: kind === TRUNCATED },
          this.envelope,
        ),
      )
      this.emitPos = end
      if (this.heads.length >= GROUP) this.closeGroup()
    }
    const ml = this.multiline
    this.sink = ml ? (bytes, end, kind) => ml.push(bytes, end, kind, this.emit) : this.emit
  }

  private makeEnvelope(): string {
    return encodeEnvelope({ host: this.config.host, headers: { ...this.config.headers, file: this.entry.path } })
  }

  get oversize(): number {
    return this.framer.oversize
  }

  // The first bytes of a generation found again (by its fingerprint): while it is read within
  // them, what is read must be them. None needed once past them.
  private adoptedHead(): Buffer {
    const { pos, headLen, headHash } = this.entry
    if (pos >= FINGERPRINT_BYTES) return EMPTY
    const head = readAt(this.fd, 0, Math.min(FINGERPRINT_BYTES, Math.max(pos, headLen)))
    // changed since it was matched: the next check says so
    if (head.length < headLen || hashBytes(head.subarray(0, headLen)) !== headHash) this.regrown = true
    return head
  }

  // the bytes read were not the ones the generation's fingerprint was taken from
  private regrown = false

  // The generation's first bytes as far as they are known (adopted or read; at most
  // FINGERPRINT_BYTES, empty when adopted past them).
  get firstBytes(): Buffer {
    return this.head
  }

  // Looks at the open file: did it grow, or was it truncated (or rewritten past our position)?
  check(): FileCheck {
    if (this.regrown) {
      this.regrown = false
      return 'truncated'
    }
    const st = fstatSync(this.fd)
    this.nlink = st.nlink
    const grew = st.size > this.size
    this.size = st.size
    if (st.size < this.readPos) return 'truncated'
    // The same size is not "nothing new": truncated (copytruncate) and written again up to the
    // very size we had read, all between two looks, the file holds new bytes where ours were.
    // The bytes before our position tell (timestamps would not: they can be coarser than that).
    if (this.rewritten()) return 'truncated'
    if (st.size === this.readPos) return 'same'
    if (grew) this.lastActivity = Date.now()
    return 'grown'
  }

  // Are the bytes just before our read position no longer the ones we read there? (Looked at
  // on every check, not only at end of file: a file truncated and regrown past our position
  // while we were still reading it must not be read on as if it were the same generation.)
  private rewritten(): boolean {
    const n = this.recent.length
    return n > 0 && !readAt(this.fd, this.readPos - n, n).equals(this.recent)
  }

  // Reads at most `budget` bytes, in chunks of at most `chunkSize`, one after the other into
  // `buf` (never over each other); returns the events they completed. The events may point into
  // buf: write them before the next read into it.
  read(buf: Buffer, budget: number, chunkSize = buf.length): ReadResult[] {
    this.now = Date.now()
    let left = Math.min(budget, buf.length)
    let used = 0
    let cut = this.nextCut()
    while (left > 0) {
      const want = Math.min(chunkSize, left, cut === undefined ? Infinity : cut - this.readPos)
      const n = readSync(this.fd, buf, used, want, this.readPos)
      if (n === 0) {
        this.atEof = true
        break
      }
      this.atEof = false
      const chunk = buf.subarray(used, used + n)
      used += n
      this.foldChunk()
      if (!this.keepHead(chunk)) {
        // not the generation we adopted: nothing of it is framed; the next check says truncated
        this.regrown = true
        break
      }
      this.chunk = chunk
      this.frame(chunk)
      this.readPos += n
      left -= n
      this.lastActivity = this.now
      if (this.readPos === cut) {
        // an event ended here in an earlier run: end it here again
        this.framer.flush(this.readPos, this.sink)
        this.multiline?.flush(this.emit)
        cut = this.nextCut()
      }
    }
    const groups = this.take()
    // buf is the engine's, and the next read of any file overwrites it
    this.foldChunk()
    return groups
  }

  // The last chunk's bytes are done with: keep the last MARK_BYTES of what was read.
  private foldChunk(): void {
    const chunk = this.chunk
    if (chunk.length === 0) return
    const keep = Math.min(MARK_BYTES, this.recent.length + chunk.length)
    const recent = Buffer.allocUnsafe(keep)
    const fromChunk = Math.min(keep, chunk.length)
    this.recent.copy(recent, 0, this.recent.length - (keep - fromChunk))
    chunk.copy(recent, keep - fromChunk, chunk.length - fromChunk)
    this.recent = recent
    this.chunkAt += chunk.length
    this.chunk = EMPTY
  }

  // The first bytes of the generation, while they are being read: those already known (taken
  // when the generation was adopted) must be what is read, else the file was truncated and
  // written again in between (false); the next ones are added.
  private keepHead(chunk: Buffer): boolean {
    const at = this.readPos
    const have = this.head.length
    if (at >= FINGERPRINT_BYTES || at > have) return true
    const known = Math.min(have - at, chunk.length)
    if (known > 0 && !chunk.subarray(0, known).equals(this.head.subarray(at, at + known))) return false
    if (have < FINGERPRINT_BYTES && known < chunk.length)
      this.head = Buffer.concat([this.head, chunk.subarray(known, known + FINGERPRINT_BYTES - have)])
    return true
  }

  // The mark of the bytes before `end` (an event's end), from what was just read; undefined when
  // they are no longer at hand (an event that ended in an earlier read: multi-line events).
  private markBefore(end: number): Mark | undefined {
    const len = Math.min(end, MARK_BYTES)
    const from = end - len
    const at = this.chunkAt
    if (end > at + this.chunk.length || from < at - this.recent.length) return undefined
    const fromRecent = this.recent.subarray(this.recent.length - Math.max(0, at - from), this.recent.length - Math.max(0, at - end))
    const fromChunk = this.chunk.subarray(Math.max(0, from - at), Math.max(0, end - at))
    return { markLen: len, markHash: fromChunk.length === 0 ? hashBytes(fromRecent) : hashPieces(fromRecent, fromChunk) }
  }

  private group(heads: Heads, pos: number, seq: number): ReadResult {
    return { heads, entry: this.entry, pos, seq, mark: this.markBefore(pos), head: this.head }
  }

  // Frames a chunk read at readPos (LineFramer.pushBlocks; multi-line events go line by line).
  private frame(chunk: Buffer): void {
    if (this.multiline) this.framer.push(chunk, this.readPos, this.sink)
    else this.framer.pushBlocks(chunk, this.readPos, this.sink, this.block)
  }

  // Complete lines: clean ASCII ones as blocks that render themselves into the output (bytes
  // copied, no string per event), others through block-lines.ts, the rest through the framer.
  private readonly block: BlockSink = (region, at) => {
    const blocks = this.config.timestamp ? undefined : LineBlock.split(region, GROUP, this.config.maxLine, this.middle(), this.emitSeq, at)
    if (!blocks) return blockRegion(region, this.config.maxLine, (lines, escaped) => this.emitBlock(lines, escaped, at))
    this.closeGroup()
    for (const block of blocks) {
      this.emitSeq += block.length
      this.emitPos = block.end
      this.groups.push(this.group(block, this.emitPos, this.emitSeq))
    }
    return region.length
  }

  private middleAt = -1
  private middleBytes = Buffer.alloc(0)

  // ","ts":<now><envelope>,"src":"S","seq": of the events read now
  private middle(): Buffer {
    if (this.middleAt !== this.now) {
      this.middleAt = this.now
      this.middleBytes = Buffer.from(`","ts":${this.now}${this.envelope},"src":"${this.entry.src}","seq":`)
    }
    return this.middleBytes
  }

  // Complete ASCII lines, already escaped (block-lines.ts), the first starting at file offset
  // `at`. The heads are exactly sourceEventHead()'s (a test holds them to it), built from the
  // parts that are the same for the whole block: this loop is most of tail's CPU.
  private emitBlock(lines: string[], escaped: string[], at: number): void {
    const ts = this.config.timestamp
    let heads = this.heads
    const tail = `${this.envelope},"src":"${this.entry.src}","seq":`
    let mid = `","ts":${this.now}${tail}`
    let pos = at
    let seq = this.emitSeq
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!
      pos += line.length + 1
      if (ts) mid = `","ts":${ts(line) ?? this.now}${tail}`
      heads.push('{"body":"' + escaped[i]! + mid + ++seq + ',"pos":' + pos)
      if (heads.length >= GROUP) {
        this.emitSeq = seq
        this.emitPos = pos
        this.closeGroup()
        heads = this.heads
      }
    }
    this.emitSeq = seq
    this.emitPos = pos
  }

  private nextCut(): number | undefined {
    const cuts = this.entry.cuts
    if (!cuts) return undefined
    for (const c of cuts) if (c > this.readPos) return c
    return undefined
  }

  // Emits what is held: the pending multi-line event, and with `partial` the unterminated last
  // line. `cut` is set to the offset where that ended an event (see FileEntry.cuts).
  flush(partial: boolean): ReadResult[] {
    this.now = Date.now()
    const seq = this.emitSeq
    if (partial) this.framer.flush(this.readPos, this.sink)
    this.multiline?.flush(this.emit)
    this.cut = this.emitSeq !== seq ? this.emitPos : undefined
    return this.take()
  }

  cut?: number

  // when the pending multi-line event started (0: none)
  get multilineSince(): number {
    return this.multiline?.since ?? 0
  }

  // held bytes that are not an event yet
  get holding(): boolean {
    return this.framer.buffered > 0 || Boolean(this.multiline?.pending)
  }

  // A new generation of the same open file (copytruncate): start again from its beginning.
  restart(entry: FileEntry, head: Buffer): void {
    this.entry = entry
    this.readPos = this.emitPos = entry.pos
    this.emitSeq = entry.seq
    this.framer.reset()
    this.multiline?.reset()
    this.recent = this.chunk = EMPTY
    this.head = head
    this.regrown = false
    this.chunkAt = entry.pos
    this.atEof = false
    this.size = 0
    this.envelope = this.makeEnvelope()
    this.middleAt = -1
  }

  close(): void {
    if (this.closed) return
    this.closed = true
    try {
      closeSync(this.fd)
    } catch {
      // already closed
    }
  }

  private closeGroup(): void {
    if (this.heads.length === 0) return
    this.groups.push(this.group(this.heads, this.emitPos, this.emitSeq))
    this.heads = []
  }

  // The events made since the last take, in groups of at most GROUP, each with its checkpoint.
  private take(): ReadResult[] {
    this.closeGroup()
    const groups = this.groups
    this.groups = []
    return groups
  }
}
