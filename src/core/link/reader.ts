import { EventEmitter } from 'node:events'
import { pause } from '../wait.js'
import { plainLineHead } from '../event.js'
import { CONT, LineFramer, TRUNCATED, WHOLE, type BlockSink, type PieceKind } from '../lines.js'
import { warnOnce } from '../log.js'
import { BatchBuilder, type LinesForm } from './batch-builder.js'
import type { InputBatch } from './batch.js'
import { END, reusedStdinChunks, streamChunks } from './chunk-source.js'
import { ACK_KEY_LENGTH, ackKeyBytes, classifyLine, parseCursor } from './cursor.js'
import { FrameSize } from './frame-size.js'
import { DEFAULT_MAX_LINE } from './protocol.js'
import { StdinWriters } from './stdin-writers.js'
import { WriterLinks, type Link } from './writer-links.js'

export { eventCount, forgetEvents, releaseEvents, type InputBatch } from './batch.js'

// The reader's side of the ack link: reads event lines from stdin, cuts each writer's cursor off
// its line (the heads go into batches: batch-builder.ts), links to the writers the cursors name
// and acks each cumulatively once the engine says a batch is durable (writer-links.ts).

export interface InputOptions {
  // the longest plain-text line kept whole; longer ones are cut into `cont` pieces
  maxLine?: number
  truncate?: boolean
  stream?: NodeJS.ReadableStream
  // how long to keep reading after a linked writer died, for what it already wrote
  finishAfterLoss?: number
  // batches as one run of bytes (`lines`) rather than an array of heads: no object per event, for
  // a stage that forwards bytes. 'events': each head + "}\n" (NDJSON, the wire batch format: ship);
  // 'heads': each head + "\n" (a channel block's payload); 'spans': the lines as read, cursors
  // and all, with each head's place in `spans` (roll: no copy per line to cut its cursor out)
  lines?: LinesForm
  // with `lines`: the size of the blocks batches are framed into (LINES_BUFFER by default). A
  // stage that releases its batches (releaseEvents) takes larger ones: a batch it sends whole
  // cannot span two blocks, so a block's last batch is short, and larger blocks make that rare.
  linesBlock?: number
  // with `lines`: where blocks of linesBlock bytes come from first (undefined: none left, one is
  // allocated). Roll's come from its WebAssembly memory, where it reads each batch without
  // copying it there first. Such a block is reused for ever, never let go.
  linesBlocks?: (size: number) => Buffer | undefined
  // asked of every writer that links up (WINDOW): at least this many bytes unacked in flight
  window?: number
}

export class EventInput extends EventEmitter {
  readonly maxLine: number
  private readonly framer: LineFramer
  private readonly frame: FrameSize
  // the last piece framed was a CONT piece of a line longer than the frame
  private inCut = false
  private readonly sink = (bytes: Buffer, _end: number, kind: PieceKind): void => this.take(bytes, kind)
  // the batch being framed
  private readonly out: BatchBuilder
  // the direct link whose cursor the last fast-path line carried
  private fast?: Link
  private directLinks = 0
  // where take()'s fast cut found the cursor
  private cutAt = 0
  private readonly links: WriterLinks
  private stopped = false
  private stopWaiters: (() => void)[] = []
  // writers of our stdin that introduced themselves on the announce socket (WRITER)
  private readonly writers: StdinWriters
  private lastPrefix?: string
  private lastLink?: Link
  oversize = 0
  lines = 0
  upstreamLost = false

  constructor(private readonly options: InputOptions = {}) {
    super()
    this.maxLine = options.maxLine ?? DEFAULT_MAX_LINE
    this.frame = new FrameSize(
      this.maxLine,
      () => this.countOversize(),
      (introduction) =>
        this.links.connecting() || this.writers.unsaid() || (introduction && this.links.links.size === 0 && !this.writers.introduced()),
    )
    this.framer = this.frame.framer
    this.out = new BatchBuilder(options.lines, options.linesBlock, options.linesBlocks)
    const told = (maxLine: number): void => this.told(maxLine)
    const lost = (): void => this.loseUpstream()
    this.writers = new StdinWriters({ told, lost, known: () => this.emit('writer-known') })
    this.links = new WriterLinks(
      {
        stdinInode: () => this.writers.stdinInode,
        told,
        lost,
        direct: (link) => {
          this.directLinks++
          this.fast = link
        },
        shared: (link) => {
          this.directLinks--
          if (this.fast === link) this.fast = undefined
        },
      },
      options.window,
    )
    if (!options.stream) this.writers.announce()
  }

  // the largest max-line a writer of ours told us (MAXLINE), 0 if none did
  get toldMaxLine(): number {
    return this.frame.told
  }

  // A writer said the longest line it may write whole: said on to the stage's own writer.
  private told(maxLine: number): void {
    const bytes = this.frame.tell(maxLine)
    if (bytes !== undefined) this.emit('max-line', bytes)
  }

  private countOversize(): void {
    this.oversize++
    warnOnce('oversize', `a line longer than ${this.maxLine} bytes was cut into pieces marked "cont" (counted, nothing dropped)`)
  }

  // Stop reading: the generator ends after the chunk at hand (SIGTERM, upstream lost).
  stop(): void {
    this.stopped = true
    for (const wake of this.stopWaiters.splice(0)) wake()
  }

  async *batches(): AsyncGenerator<InputBatch> {
    // As lines, a batch is a copy of its chunk's bytes: stdin can be read into one reused buffer.
    const source =
      (!this.options.stream && this.out.asLines ? reusedStdinChunks() : undefined) ?? streamChunks(this.options.stream ?? process.stdin)
    // a chunk inside one long line completes no event: no batch (a batch that is never yielded
    // would never be done, and would hold back every ack after it)
    const take = (chunk: Buffer): InputBatch | typeof SETTLE | undefined =>
      this.batchOf(chunk) ?? (this.frame.atEdge(this.lines, this.writers.stdinInode >= 0) ? SETTLE : undefined)
    try {
      while (!this.stopped) {
        // a fresh stop promise per read: racing every read against one long-lived promise would
        // keep every chunk ever read reachable through that promise's reactions (a leak)
        let wake!: () => void
        const stopped = new Promise<'stop'>((resolve) => (wake = () => resolve('stop')))
        this.stopWaiters.push(wake)
        const next = await Promise.race([source.next(take), stopped])
        this.stopWaiters.splice(this.stopWaiters.indexOf(wake) >>> 0, 1)
        if (next === 'stop') break
        if (next === SETTLE) {
          await this.frame.settle(() => this.stopped)
          continue
        }
        if (next === END) {
          await this.settleLinks()
          // lines held for a cursor that never came (the writer died mid-write): checked
          if (this.out.held) this.recheck(AT_END)
          const last = (await this.lastLine()) ?? this.takeBatch(0)
          if (last) yield last
          break
        }
        yield next
      }
    } finally {
      // Stopped (SIGTERM, upstream lost) while a read is pending on an idle upstream: abandon it
      await source.close(this.stopped)
    }
  }

  // The events framed so far as a batch (undefined if there are none), and a fresh one begun.
  private takeBatch(bytes: number): InputBatch | undefined {
    const batch = this.out.take(bytes)
    if (batch) this.links.handed(batch)
    return batch
  }

  private batchOf(chunk: Buffer): InputBatch | undefined {
    this.out.reserve(chunk.length)
    this.framer.pushBlocks(chunk, 0, this.sink, this.block)
    return this.takeBatch(chunk.length)
  }

  private take(bytes: Buffer, kind: PieceKind): void {
    this.lines++
    const cutEnd = kind === WHOLE && this.inCut
    this.inCut = kind === CONT
    if (cutEnd) return this.takeCutEnd(bytes)
    const n = bytes.length
    const fast = this.fast
    let over = false // a line without a cursor past what is held for one cursor
    if (kind === WHOLE && fast !== undefined) {
      // the fast path: a line a directly linked writer wrote, its cursor last; cut by position
      const position = n > 2 ? this.cutFast(bytes, 0, n, fast) : -1
      if (position >= 0 && this.vouches(fast, position)) {
        this.out.pushRange(bytes, 0, this.cutAt)
        this.out.positions.set(fast.id, position)
        return
      }
      if (position < 0 && fast.sparse && bare(bytes, 0, n)) {
        // one of its lines without a cursor: held until its next cursor vouches for it
        if (this.out.heldBytes + n <= this.heldMax) {
          if (this.out.held === 0) this.out.hold()
          this.out.held++
          this.out.heldBytes += n
          this.out.pushRange(bytes, 0, n - 1)
          return
        }
        over = true
      }
    }
    // anything else while lines are held: no cursor of theirs vouches for them
    if (this.out.held) this.recheck(over ? TOO_MANY : MISMATCH)
    if (kind === WHOLE && n > 2 && bytes[n - 1] === 0x7d && bytes[n - 2] === 0x22 && this.directLinks > 0 && this.takeDirect(bytes)) return
    const line = classifyLine(bytes, kind === CONT ? { cont: true } : kind === TRUNCATED ? { truncated: true } : undefined)
    if (line.cursor === undefined && n > this.maxLine && kind === WHOLE) {
      this.cutText(bytes)
      return
    }
    this.out.push(line.head)
    const cursor = line.cursor
    if (cursor === undefined) return
    // Most lines come from the same writer as the line before: skip parsing its name and nonce.
    if (this.lastPrefix !== undefined && cursor.startsWith(this.lastPrefix)) {
      const position = Number(cursor.slice(this.lastPrefix.length))
      this.lastLink!.pos = position
      if (this.lastLink!.state !== 'unreachable') this.out.positions.set(this.lastLink!.id, position)
      return
    }
    const parsed = parseCursor(cursor)!
    const link = this.links.linkTo(parsed.link, parsed.nonce)
    this.lastPrefix = `${parsed.link}.${parsed.nonce}.`
    this.lastLink = link
    link.pos = parsed.position
    if (link.state !== 'unreachable') this.out.positions.set(parsed.link, parsed.position)
  }

  // Complete lines of a chunk: while a direct link is known, its lines cost no parsing and no
  // object each. As heads, each is one Buffer view; as lines (options.lines), a run of them is
  // compacted where it lies (each line moved down over the cursors cut before it, "}\n" after it)
  // and copied into the batch at once. Any other line goes through take().
  private readonly block: BlockSink = (region) => {
    if (this.fast === undefined) return 0
    const max = this.frame.max
    const out = this.out
    const asLines = out.asLines
    const asSpans = out.asSpans
    const close = out.closeLines
    let start = 0
    // the fast link's last position is set once per run of its lines, not once per line
    let fast = this.fast
    let last = -1
    // as lines: the run compacted so far is region[run, w), `count` lines
    let run = 0
    let w = 0
    let count = 0
    while (start < region.length) {
      const nl = region.indexOf(10, start)
      if (nl - start > max) break // the framer cuts it
      let position = nl - start > 2 ? this.cutFast(region, start, nl, fast) : -1
      // a cursor whose position does not add up with the lines held before it: take() checks them
      if (position >= 0 && !this.vouches(fast, position)) position = -1
      else if (position < 0 && fast.sparse && out.heldBytes + nl - start <= this.heldMax && bare(region, start, nl)) {
        // a line without its cursor (sparse): held until a cursor vouches for it, from where it
        // lies in `out` (the run so far goes there first)
        if (out.held === 0) {
          if (count) out.pushRun(region, run, w, count)
          count = 0
          run = w
          out.hold()
        }
        out.held++
        out.heldBytes += nl - start
        this.cutAt = nl - 1
        position = 0 // no position of its own
      }
      if (position >= 0) {
        this.lines++
        if (position > 0) last = position
        if (!asLines) out.pushRange(region, start, this.cutAt)
        else if (asSpans) {
          // the line stays as it is (the run is copied whole): its head is where it will land
          const base = out.outBytes - run
          out.span(base + start, base + this.cutAt)
          out.outCount++
          w = nl + 1
          count++
        } else {
          // w <= start: every line before lost its cursor (more than two bytes), and w + 2 <= nl
          if (w !== start) region.copyWithin(w, start, this.cutAt)
          w += this.cutAt - start
          if (close) region[w++] = 0x7d // }
          region[w++] = 0x0a
          count++
        }
      } else {
        if (last >= 0) out.positions.set(fast.id, last)
        last = -1
        if (count) out.pushRun(region, run, w, count)
        count = 0
        run = w = nl + 1
        this.take(region.subarray(start, nl), WHOLE)
        if (this.fast === undefined) {
          start = nl + 1
          break
        }
        fast = this.fast
      }
      start = nl + 1
    }
    if (last >= 0) out.positions.set(fast.id, last)
    if (count) out.pushRun(region, run, w, count)
    return start
  }

  // The position of the line bytes[start, end) when it ends with this link's cursor (its prefix,
  // 1-15 digits, "}), with cutAt set where the cursor starts; -1 if it does not. No string is made.
  private cutFast(bytes: Buffer, start: number, end: number, link: Link): number {
    if (bytes[end - 1] !== 0x7d || bytes[end - 2] !== 0x22) return -1
    let i = end - 3
    let position = 0
    let scale = 1
    while (i >= start && bytes[i]! >= 0x30 && bytes[i]! <= 0x39) {
      position += (bytes[i]! - 0x30) * scale
      scale *= 10
      i--
    }
    const digits = end - 3 - i
    const prefix = link.prefix
    const at = i + 1 - prefix.length
    if (digits === 0 || digits > 15 || at < start + 1) return -1
    // compared here rather than by Buffer#compare, whose argument checks cost more than the bytes
    for (let k = prefix.length - 1; k >= 0; k--) if (bytes[at + k] !== prefix[k]) return -1
    this.cutAt = at
    return position
  }

  // The most bytes of lines held for one cursor: a writer with sparse cursors ends every write
  // with one, and its writes hold at most one line longer than 32 KiB and 128 KiB of others, or
  // 1 MiB of a collector's batch written as it lies (core/link/render.ts), less than a frame (8 MiB
  // at least). More held means another program's lines: they are checked
  // (recheck), not kept waiting without bound.
  private get heldMax(): number {
    return this.frame.max + 256 * 1024
  }

  // Whether a cursor at `position` vouches for the lines held before it: a writer with sparse
  // cursors numbers every line, so the lines since its last cursor must be exactly as many as the
  // positions between. Anything else means bytes of another program in between (a second writer
  // the writer did not see yet): the held lines are then checked one by one (recheck).
  private vouches(link: Link, position: number): boolean {
    const held = this.out.held
    if (held) {
      if (link.pos < 0 || position !== link.pos + held + 1) return false
      this.out.vouch()
    }
    link.pos = position
    return true
  }

  // Held lines no cursor vouched for: each goes through the checked path (take()), and their writer
  // is not trusted as direct any more (its lines are all checked from here on). `why` says which
  // way the cursor failed them, so the warning says what happened.
  private recheck(why: Recheck): void {
    const link = this.fast
    if (link?.direct) {
      link.direct = false
      link.sparse = false
      this.directLinks--
    }
    this.fast = undefined
    const lines = this.out.unhold()
    if (why === AT_END && link !== undefined && !link.fin) {
      // its kill cut a write: lines of it came, its cursor never will. Read after its last ack,
      // they are delivered like any such line, unacked; the restarted writer sends them again,
      // with the same src and seq, so a sink that dedupes on them keeps each once.
      warnOnce(
        'sparse-end',
        `${lines.length} lines of a writer that died mid-write came without their cursor: delivered, unacked (a restart sends them again: removed by a sink that dedupes on src and seq)`,
      )
    } else if (why === TOO_MANY) {
      warnOnce(
        'sparse-many',
        `more than ${this.heldMax} bytes of lines without a cursor from a directly linked writer (a tsf writer puts one in every write: another program writes into the same pipe?): checking every line of it from here on`,
      )
    } else {
      warnOnce(
        'sparse',
        why === AT_END
          ? `${lines.length} lines without a cursor came after the last one of a directly linked writer that ended cleanly (another program writes into the same pipe?): checked`
          : 'lines without cursors from a directly linked writer did not add up to its next cursor (another program writes into the same pipe?): checking every line of it from here on',
      )
    }
    this.lines -= lines.length // counted when they were read
    for (const line of lines) this.take(line, WHOLE)
  }

  // A line of another direct link (two tsf writers into one pipe): becomes the fast one.
  private takeDirect(bytes: Buffer): boolean {
    const n = bytes.length
    const at = bytes.lastIndexOf(ackKeyBytes, n - 3)
    if (at < 1) return false
    const parsed = parseCursor(bytes.toString('latin1', at + ACK_KEY_LENGTH, n - 2))
    const link = parsed && this.links.links.get(parsed.link)
    if (!link || !link.direct || link.nonce !== parsed.nonce) return false
    this.fast = link
    link.pos = parsed.position // its held lines, if it goes sparse, count from here
    this.out.pushRange(bytes, 0, at)
    this.out.positions.set(link.id, parsed.position)
    return true
  }

  // The last piece of a line longer than the frame. One that ends with a tsf writer's cursor was
  // an event its writer did not say it may write (an older writer, or a MAXLINE too late): its
  // pieces went on as text, and so does this one, without the cursor, and that writer is acked for
  // it (its bytes are delivered). Unacked, a writer whose window that line filled would wait for
  // ever, and the whole pipeline with it.
  private takeCutEnd(bytes: Buffer): void {
    const n = bytes.length
    const at = n > 2 && bytes[n - 1] === 0x7d && bytes[n - 2] === 0x22 ? bytes.lastIndexOf(ackKeyBytes, n - 3) : -1
    const parsed = at > 0 ? parseCursor(bytes.toString('latin1', at + ACK_KEY_LENGTH, n - 2)) : undefined
    if (!parsed) return this.takeText(bytes)
    warnOnce(
      'cut-event',
      `an event line longer than ${this.frame.max} bytes was cut into text pieces marked "cont" (its writer did not say its --max-line in time: an older tsf, or a filter in between); give every stage the same --max-line`,
    )
    this.takeText(Buffer.concat([bytes.subarray(0, at), CLOSE]))
    const link = this.links.linkTo(parsed.link, parsed.nonce)
    if (link.state !== 'unreachable') this.out.positions.set(parsed.link, parsed.position)
  }

  // A line as the body of a plain event, cut by our --max-line.
  private takeText(bytes: Buffer): void {
    if (bytes.length > this.maxLine) this.cutText(bytes)
    else this.out.push(plainLineHead(bytes))
  }

  private cutText(bytes: Buffer): void {
    this.countOversize()
    const cutter = new LineFramer(this.maxLine, this.options.truncate)
    let last = WHOLE as PieceKind
    let pieces = 0
    const sink = (piece: Buffer, _end: number, kind: PieceKind): void => {
      last = kind
      pieces++
      this.out.push(plainLineHead(piece, kind === CONT ? { cont: true } : kind === TRUNCATED ? { truncated: true } : undefined))
    }
    cutter.push(bytes, 0, sink)
    const before = pieces
    cutter.flush(bytes.length, sink)
    if (pieces === before && last === CONT) this.out.push(plainLineHead(Buffer.alloc(0)))
  }

  // At EOF: a line without its newline. If a linked writer died, it is the torn end of its last
  // write and is discarded (the writer re-sends it after restart); otherwise it is a line.
  private async lastLine(): Promise<InputBatch | undefined> {
    const rest = this.framer.rest()
    if (!rest) return undefined
    const unfinished = this.links.unfinished()
    // A writer we could not reach (it died before we linked up) never finished either: a last
    // line without a whole cursor is its torn last write, not a line (a capture replayed from a
    // file may end without a newline: its last line still carries its cursor and is kept). Only
    // a line shaped like the start of a tsf writer's line ("{" but not yet valid JSON) counts as
    // torn: a link we cannot reach may be a forged cursor, and then nobody would re-send the
    // plain text or whole JSON line it would make us drop.
    const torn =
      unfinished.some((l) => l.state !== 'unreachable') ||
      this.writers.unfinished() ||
      (unfinished.length > 0 && rest[0] === 0x7b && !isJson(rest) && classifyLine(rest).cursor === undefined)
    if (torn) {
      warnOnce('torn', `discarded an unterminated last line of ${rest.length} bytes from a writer that died (it will be re-sent)`)
      return undefined
    }
    this.take(rest, WHOLE)
    return this.takeBatch(rest.length)
  }

  // At EOF: a clean writer has sent FIN (right after closing its stdout); one that died has its
  // link closing at the same moment. Wait briefly until every link has said which.
  private async settleLinks(): Promise<void> {
    const deadline = Date.now() + 1000
    const open = (): boolean => this.links.open() || this.writers.open()
    while (open() && Date.now() < deadline) await pause(10)
  }

  private loseUpstream(): void {
    if (this.upstreamLost) return
    this.upstreamLost = true
    this.emit('upstream-lost')
    // finish what is already in the pipe, as far as that is quick, then stop reading
    setTimeout(() => this.stop(), this.options.finishAfterLoss ?? 2000).unref()
  }

  // The engine made this batch durable: ack upstream once every earlier batch is durable too.
  done(batch: InputBatch): void {
    this.links.done(batch)
  }

  // writers of our stdin that introduced themselves and have not ended
  // writers linked directly to our stdin (PIPE): their lines take the fast path, sparse ones held
  get directWriters(): number {
    return this.directLinks
  }

  get knownWriters(): number {
    return this.writers.known
  }

  get pending(): number {
    return this.links.pending
  }

  close(): void {
    this.writers.close()
    this.links.close()
  }
}

// why held lines are checked (recheck): a cursor or a line of another program among them, more of
// them than a writer puts between two cursors, or EOF before their cursor
type Recheck = typeof MISMATCH | typeof TOO_MANY | typeof AT_END
const MISMATCH = 0
const TOO_MANY = 1
const AT_END = 2

// what a read returns to wait at a frame's edge (FrameSize.atEdge)
const SETTLE = Symbol('settle')
const CLOSE = Buffer.from('}')

// bytes[start, end) may be one of a tsf writer's event lines without its cursor ({…})
// A line its writer may have left without a cursor: an object, and not one that ends with a cursor
// (another tsf writer's line, say one writing into the pipe after the fast one finished, must go
// to its own link, not be held for the fast one's next cursor).
const bare = (bytes: Buffer, start: number, end: number): boolean =>
  end - start > 1 && bytes[start] === 0x7b && bytes[end - 1] === 0x7d && !(bytes[end - 2] === 0x22 && endsWithCursor(bytes, start, end))

// Whether the line's last member is a cursor (`,"_ack":"…"}`), looked for in its last bytes only.
const endsWithCursor = (bytes: Buffer, start: number, end: number): boolean => {
  const digit = bytes[end - 3]!
  if (digit < 0x30 || digit > 0x39) return false
  const from = Math.max(start, end - CURSOR_TAIL_MAX)
  for (let at = end - 3 - ACK_KEY_LENGTH; at >= from; at--) {
    let k = 0
    while (k < ACK_KEY_LENGTH && bytes[at + k] === ackKeyBytes[k]) k++
    if (k === ACK_KEY_LENGTH) return true
  }
  return false
}

// A cursor's key starts at most this many bytes before its line's end (key, link and nonce of up
// to 64 characters each, 15 digits, two dots, `"}`: 156).
const CURSOR_TAIL_MAX = 160

// Whether a line is whole JSON (a torn piece of a tsf writer's line never is).
const isJson = (line: Buffer): boolean => {
  try {
    JSON.parse(line.toString('utf8'))
    return true
  } catch {
    return false
  }
}
