import { EventEmitter } from 'node:events'
import { fstatSync } from 'node:fs'
import { pause } from '../wait.js'
import { connect, createServer, type Server, type Socket } from 'node:net'
import split2 from 'split2'
import { plainLineHead, type EventHead } from '../event.js'
import { CONT, LineFramer, TRUNCATED, WHOLE, type BlockSink, type PieceKind } from '../lines.js'
import { allocatedBuffer } from '../buffer-gc.js'
import { warnOnce } from '../log.js'
import { END, reusedStdinChunks, streamChunks } from './chunk-source.js'
import { ACK_KEY, ACK_KEY_LENGTH, ackKeyBytes, classifyLine, parseCursor, readerAnnouncePath, socketPath } from './cursor.js'
import {
  ackPattern,
  askWindow,
  DEFAULT_MAX_LINE,
  finPattern,
  hello,
  lostPattern,
  MAX_TOLD_MAX_LINE,
  maxLinePattern,
  pipePattern,
  REFUSED,
  sharedPattern,
} from './protocol.js'

// The reader's side of the ack link: reads event lines from stdin, links to the writers their
// cursors name, and acks each writer cumulatively once the engine says a batch is durable.

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
  lines?: 'events' | 'heads' | 'spans'
  // with `lines`: the size of the blocks batches are framed into (LINES_BUFFER by default). A
  // stage that releases its batches (releaseEvents) takes larger ones: a batch it sends whole
  // cannot span two blocks, so a block's last batch is short, and larger blocks make that rare.
  linesBlock?: number
  // asked of every writer that links up (WINDOW): at least this many bytes unacked in flight
  window?: number
}

export interface InputBatch {
  readonly id: number
  readonly heads: EventHead[]
  readonly bytes: number
  // per linked writer, the last position in this batch
  positions: Map<string, number>
  // with InputOptions.lines: the events as bytes in that form (heads made only when asked for)
  readonly lines?: Buffer
  readonly count?: number
  // with InputOptions.lines 'spans': head k is lines[spans[2k], spans[2k + 1])
  readonly spans?: Int32Array
}

// The stage has stored a batch's bytes elsewhere (a channel's log): let go of them while the batch
// waits to be done, so they do not stay in memory until then. Its count stays.
export const forgetEvents = (batch: InputBatch): void => {
  if (batch instanceof LinesBatch) batch.lines = EMPTY
  else batch.heads.length = 0
}

// The stage no longer holds this batch's bytes anywhere (a collector acked them): the reader may
// frame later input into them. Only for a consumer that forwards the bytes and drops every
// reference to them at this point (ship's TCP sink); others simply never call it.
export const releaseEvents = (batch: InputBatch): void => {
  if (batch instanceof LinesBatch) batch.release()
}

// A buffer that InputOptions.lines batches are framed into, in turn. Reused once the reader moved
// on from it and every batch cut from it was released: allocating a fresh 1 MiB each time made a
// forwarding stage pay for a forced collection every few MiB (buffer-gc.ts), about a third of ship.
class OutBlock {
  open = 0 // batches cut from it not released yet
  left = false // the reader frames into another block now
  constructor(
    readonly buffer: Buffer,
    private readonly free: OutBlock[],
    private readonly size: number, // the usual size: only blocks of that size are reused
  ) {}

  leave(): void {
    this.left = true
    this.recycle()
  }

  release(): void {
    this.open--
    this.recycle()
  }

  private recycle(): void {
    if (this.left && this.open === 0 && this.buffer.length === this.size && this.free.length < FREE_BLOCKS) {
      this.left = false
      this.free.push(this)
    }
  }
}

// How many events a batch holds, without making its heads.
export const eventCount = (batch: InputBatch): number => (batch.lines ? batch.count! : batch.heads.length)

// A batch held as bytes: its heads are views into `lines`, made on first use (a -H header, a
// consumer that wants events) and kept, so changes to them stick.
class LinesBatch implements InputBatch {
  private made?: EventHead[]
  private block?: OutBlock
  constructor(
    readonly id: number,
    public lines: Buffer,
    readonly count: number,
    readonly bytes: number,
    public positions: Map<string, number>,
    private readonly closed: boolean, // each line ends with "}" (InputOptions.lines 'events')
    block: OutBlock,
    readonly spans?: Int32Array,
  ) {
    this.block = block
    block.open++
  }

  release(): void {
    const block = this.block
    if (!block) return
    this.block = undefined
    this.lines = EMPTY
    this.made = undefined
    block.release()
  }

  get heads(): EventHead[] {
    if (this.made) return this.made
    const heads: EventHead[] = []
    const lines = this.lines
    const spans = this.spans
    if (spans) {
      for (let k = 0; k < spans.length; k += 2) heads.push(lines.subarray(spans[k], spans[k + 1]))
      return (this.made = heads)
    }
    const cut = this.closed ? 1 : 0 // a head is without its "}"
    for (let at = 0; at < lines.length; ) {
      const nl = lines.indexOf(10, at)
      heads.push(lines.subarray(at, nl - cut))
      at = nl + 1
    }
    return (this.made = heads)
  }
}

// 'dead': it accepted our connection, then closed it before answering HELLO (killed meanwhile)
type LinkState = 'connecting' | 'up' | 'unreachable' | 'dead'

interface Link {
  id: string
  state: LinkState
  socket?: Socket
  nonce: string
  // the writer's stdout is our stdin (it said so: PIPE <inode>): no filter in between, so its
  // lines are its own, valid by construction, and take the fast path
  direct: boolean
  // ,"_ack":"<link>.<nonce>. as bytes, to recognise and cut this writer's cursors in place
  prefix: Buffer
  fin: boolean
  closed: boolean
  sent: number // last position acked on the wire
  due: number // last position durable, to be sent
}

interface Watch {
  socket: Socket
  writer: boolean // said WRITER (else a prober, or not said yet)
  maxLine: number // what it said in MAXLINE before WRITER (taken once it says WRITER)
  fin: boolean
  closed: boolean
}

export class EventInput extends EventEmitter {
  readonly maxLine: number
  private readonly framer: LineFramer
  private frameMax: number
  // the largest max-line a writer of ours told us (MAXLINE), 0 if none did
  toldMaxLine = 0
  // the line (by this.lines) a wait for writers' max-lines was made for, and whether a wait for
  // an introduction was made at all (once: a stdin no tsf writer writes into never gets one)
  private settledLine = -1
  private waitedIntroduction = false
  private awaitIntroduction = false
  // the last piece framed was a CONT piece of a line longer than the frame
  private inCut = false
  private readonly sink = (bytes: Buffer, _end: number, kind: PieceKind): void => this.take(bytes, kind)
  // the batch being framed: heads, or with options.lines its NDJSON bytes
  private heads: EventHead[] = []
  private readonly asLines: boolean
  private readonly closeLines: boolean // lines end "}\n", not "\n"
  // with lines 'spans': [start, end) of each head of the batch being framed, in `out`
  private readonly asSpans: boolean
  private spans = new Int32Array(4096)
  private out: Buffer = EMPTY
  private outBlock = new OutBlock(EMPTY, [], 0)
  private readonly freeBlocks: OutBlock[] = []
  private outBytes = 0
  private outCount = 0
  private positions = new Map<string, number>()
  // the direct link whose cursor the last fast-path line carried
  private fast?: Link
  private directLinks = 0
  private stdinInode = -1
  // where take()'s fast cut found the cursor
  private cutAt = 0
  private readonly links = new Map<string, Link>()
  private nextId = 0
  private ackedUpTo = 0 // batches [0, ackedUpTo) are done
  private readonly inflight = new Map<number, { batch: InputBatch; done: boolean }>()
  private ackScheduled = false
  private stopped = false
  private stopWaiters: (() => void)[] = []
  private announcer?: Server
  // writers of our stdin that introduced themselves on the announce socket (WRITER): known
  // before their first event, so one that dies before writing any is still a lost upstream
  private readonly watches = new Set<Watch>()
  private lastPrefix?: string
  private lastLink?: Link
  oversize = 0
  lines = 0
  upstreamLost = false

  constructor(private readonly options: InputOptions = {}) {
    super()
    this.maxLine = options.maxLine ?? DEFAULT_MAX_LINE
    // An event line may be much longer than its body (escapes, base64): frame generously here and
    // cut plain text at maxLine after classifying it. The frame is never smaller than the default
    // --max-line's: an upstream stage cut its bodies by its own --max-line (1 MiB unless it says
    // more: MAXLINE, see toldMaxLine), and a reader told less must still take each of its events
    // whole, not cut its JSON into text.
    this.frameMax = frameFor(Math.max(this.maxLine, DEFAULT_MAX_LINE))
    this.framer = new LineFramer(this.frameMax, false, () => this.countOversize())
    this.asLines = options.lines !== undefined
    this.closeLines = options.lines === 'events'
    this.asSpans = options.lines === 'spans'
    if (!options.stream) this.announce()
  }

  // Tell the writer of our stdin pipe, early, that a tsf reader is here (see readerAnnouncePath).
  private announce(): void {
    try {
      const st = fstatSync(0)
      if (!st.isFIFO()) return
      this.stdinInode = st.ino
      const server = createServer((socket) => this.onAnnounceConnection(socket))
      server.on('error', () => undefined) // another reader of the same pipe announced already
      server.listen({ path: readerAnnouncePath(st.ino) })
      server.unref()
      this.announcer = server
    } catch {
      // stdin closed: nobody to announce to
    }
  }

  // A prober (the writer's mode decision) only connects; a writer of our stdin says WRITER and
  // keeps the connection until it exits: FIN or LOST at its end, a close without them if it died.
  // Its lines are taken straight from 'data' (always before 'close'), and a connection that has
  // not said what it is yet counts as open at EOF, so a kill -9 never outruns the WRITER line.
  private onAnnounceConnection(socket: Socket): void {
    socket.on('error', () => undefined)
    socket.unref()
    socket.write('tsf\n')
    const watch: Watch = { socket, writer: false, maxLine: 0, fin: false, closed: false }
    this.watches.add(watch)
    let text = ''
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => {
      text += chunk
      for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n')) {
        const line = text.slice(0, nl)
        text = text.slice(nl + 1)
        const told = maxLinePattern.exec(line)
        if (told) {
          watch.maxLine = Number(told[1])
          if (watch.writer) this.told(watch.maxLine)
        } else if (line === 'WRITER') {
          watch.writer = true
          this.told(watch.maxLine)
          socket.write('KNOWN\n') // the writer may count on us knowing it from here on
          this.emit('writer-known')
        } else if (watch.writer && finPattern.test(line)) watch.fin = true
        else if (watch.writer && lostPattern.test(line)) {
          watch.fin = true
          this.loseUpstream()
        }
      }
      if (text.length > 256) socket.destroy() // not a writer of ours
    })
    socket.on('close', () => {
      watch.closed = true
      if (!watch.writer) this.watches.delete(watch)
      else if (!watch.fin) this.loseUpstream()
    })
  }

  // A writer said the longest line it may write whole: frame by it (escaped: up to 8 times the
  // body), never beyond what one line may hold in memory. Said on to the stage's own writer.
  private told(maxLine: number): void {
    const bytes = Math.min(maxLine, MAX_TOLD_MAX_LINE)
    if (bytes <= this.toldMaxLine) return
    this.toldMaxLine = bytes
    const frame = frameFor(bytes)
    if (frame > this.frameMax) {
      this.frameMax = frame
      this.framer.raise(frame)
    }
    this.emit('max-line', bytes)
  }

  // A line about to outgrow the frame before every writer said its max-line (a link still
  // connecting; the writer of our stdin pipe not introduced yet: a long first line): checked after
  // each chunk read; true once per such line, and settleMaxLine() then waits for them, briefly,
  // rather than cut an event's JSON into text.
  private atFrameEdge(): boolean {
    const framer = this.framer
    if (!framer.ordinary || framer.buffered + READ_AHEAD < this.frameMax || this.settledLine === this.lines) return false
    this.settledLine = this.lines
    this.awaitIntroduction = this.stdinInode >= 0 && !this.waitedIntroduction
    this.waitedIntroduction = true
    return this.unsettled()
  }

  private unsettled(): boolean {
    return (
      [...this.links.values()].some((l) => l.state === 'connecting') ||
      [...this.watches].some((w) => !w.writer && !w.closed) ||
      (this.awaitIntroduction && this.links.size === 0 && ![...this.watches].some((w) => w.writer))
    )
  }

  private async settleMaxLine(): Promise<void> {
    const deadline = Date.now() + SETTLE_FOR
    while (this.unsettled() && !this.stopped && Date.now() < deadline) await pause(10)
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
      (!this.options.stream && this.asLines ? reusedStdinChunks() : undefined) ?? streamChunks(this.options.stream ?? process.stdin)
    // a chunk inside one long line completes no event: no batch (a batch that is never yielded
    // would never be done, and would hold back every ack after it)
    const take = (chunk: Buffer): InputBatch | typeof SETTLE | undefined => this.batchOf(chunk) ?? (this.atFrameEdge() ? SETTLE : undefined)
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
          await this.settleMaxLine()
          continue
        }
        if (next === END) {
          await this.settleLinks()
          const last = await this.lastLine()
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
    if (this.asLines ? this.outCount === 0 : this.heads.length === 0) return undefined
    const batch: InputBatch = this.asLines
      ? new LinesBatch(
          this.nextId++,
          this.out.subarray(0, this.outBytes),
          this.outCount,
          bytes,
          this.positions,
          this.closeLines,
          this.outBlock,
          this.asSpans ? this.spans.slice(0, 2 * this.outCount) : undefined,
        )
      : { id: this.nextId++, heads: this.heads, bytes, positions: this.positions }
    this.inflight.set(batch.id, { batch, done: false })
    if (this.asLines) {
      // the rest of this buffer holds the next batch: a batch's bytes are never written again
      this.out = this.out.subarray(this.outBytes)
      this.outBytes = 0
      this.outCount = 0
    } else this.heads = []
    this.positions = new Map()
    return batch
  }

  private batchOf(chunk: Buffer): InputBatch | undefined {
    // a batch's lines are at most its chunk plus two bytes a line (a cursor cut, "}" added):
    // with room for that, the fast path never grows the buffer
    if (this.asLines && this.out.length - this.outBytes < chunk.length + 4096) this.fresh(chunk.length + 4096)
    this.framer.pushBlocks(chunk, 0, this.sink, this.block)
    return this.takeBatch(chunk.length)
  }

  // One event head into the batch being framed.
  private push(head: EventHead): void {
    if (!this.asLines) {
      this.heads.push(head)
      return
    }
    const size = typeof head === 'string' ? head.length * 3 : head.length
    if (this.out.length - this.outBytes < size + 2) this.fresh(size + 2)
    const out = this.out
    let at = this.outBytes
    at += typeof head === 'string' ? out.write(head, at) : head.copy(out, at)
    if (this.asSpans) this.span(this.outBytes, at)
    if (this.closeLines) out[at++] = 0x7d // }
    out[at++] = 0x0a
    this.outBytes = at
    this.outCount++
  }

  // The head bytes[start, end) into the batch being framed (the fast path: one copy, no view).
  private pushRange(bytes: Buffer, start: number, end: number): void {
    if (!this.asLines) {
      this.heads.push(bytes.subarray(start, end))
      return
    }
    if (this.out.length - this.outBytes < end - start + 2) this.fresh(end - start + 2)
    const out = this.out
    let at = this.outBytes + bytes.copy(out, this.outBytes, start, end)
    if (this.asSpans) this.span(this.outBytes, at)
    if (this.closeLines) out[at++] = 0x7d // }
    out[at++] = 0x0a
    this.outBytes = at
    this.outCount++
  }

  // One head's [start, end) in `out`, for lines 'spans' (the count is outCount, not yet counted).
  private span(start: number, end: number): void {
    const k = 2 * this.outCount
    if (k + 2 > this.spans.length) {
      const more = new Int32Array(this.spans.length * 2)
      more.set(this.spans)
      this.spans = more
    }
    this.spans[k] = start
    this.spans[k + 1] = end
  }

  // A new buffer for the batch being framed, with room for `need` more bytes; what it holds moves.
  private fresh(need: number): void {
    const usual = this.options.linesBlock ?? LINES_BUFFER
    const size = Math.max(usual, this.outBytes + need)
    let block = size === usual ? this.freeBlocks.pop() : undefined
    if (!block) {
      block = new OutBlock(Buffer.allocUnsafe(size), this.freeBlocks, usual)
      allocatedBuffer(size)
    }
    const next = block.buffer
    this.out.copy(next, 0, 0, this.outBytes)
    this.out = next
    this.outBlock.leave()
    this.outBlock = block
  }

  private take(bytes: Buffer, kind: PieceKind): void {
    this.lines++
    const cutEnd = kind === WHOLE && this.inCut
    this.inCut = kind === CONT
    if (cutEnd) return this.takeCutEnd(bytes)
    const n = bytes.length
    if (kind === WHOLE && n > 2 && bytes[n - 1] === 0x7d && bytes[n - 2] === 0x22 && this.directLinks > 0) {
      // the fast path: a line a directly linked writer wrote, its cursor last; cut by position
      const position = this.fast ? this.cutFast(bytes, 0, n, this.fast) : -1
      if (position >= 0) {
        this.pushRange(bytes, 0, this.cutAt)
        this.positions.set(this.fast!.id, position)
        return
      }
      if (this.takeDirect(bytes)) return
    }
    const line = classifyLine(bytes, kind === CONT ? { cont: true } : kind === TRUNCATED ? { truncated: true } : undefined)
    if (line.cursor === undefined && n > this.maxLine && kind === WHOLE) {
      this.cutText(bytes)
      return
    }
    this.push(line.head)
    const cursor = line.cursor
    if (cursor === undefined) return
    // Most lines come from the same writer as the line before: skip parsing its name and nonce.
    if (this.lastPrefix !== undefined && cursor.startsWith(this.lastPrefix)) {
      if (this.lastLink!.state !== 'unreachable') this.positions.set(this.lastLink!.id, Number(cursor.slice(this.lastPrefix.length)))
      return
    }
    const parsed = parseCursor(cursor)!
    const link = this.linkTo(parsed.link, parsed.nonce)
    this.lastPrefix = `${parsed.link}.${parsed.nonce}.`
    this.lastLink = link
    if (link.state !== 'unreachable') this.positions.set(parsed.link, parsed.position)
  }

  // Complete lines of a chunk: while a direct link is known, its lines cost no parsing and no
  // object each. As heads, each is one Buffer view; as lines (options.lines), a run of them is
  // compacted where it lies (each line moved down over the cursors cut before it, "}\n" after it)
  // and copied into the batch at once. Any other line goes through take().
  private readonly block: BlockSink = (region) => {
    if (this.fast === undefined) return 0
    const max = this.frameMax
    const asLines = this.asLines
    const asSpans = this.asSpans
    const close = this.closeLines
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
      const position = nl - start > 2 ? this.cutFast(region, start, nl, fast) : -1
      if (position >= 0) {
        this.lines++
        last = position
        if (!asLines) this.pushRange(region, start, this.cutAt)
        else if (asSpans) {
          // the line stays as it is (the run is copied whole): its head is where it will land
          const base = this.outBytes - run
          this.span(base + start, base + this.cutAt)
          this.outCount++
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
        if (last >= 0) this.positions.set(fast.id, last)
        last = -1
        if (count) this.pushRun(region, run, w, count)
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
    if (last >= 0) this.positions.set(fast.id, last)
    if (count) this.pushRun(region, run, w, count)
    return start
  }

  // `count` lines already in the batch format, bytes[from, to), into the batch being framed (with
  // lines 'spans' they are counted and their spans made already).
  private pushRun(bytes: Buffer, from: number, to: number, count: number): void {
    if (this.out.length - this.outBytes < to - from) this.fresh(to - from)
    this.outBytes += bytes.copy(this.out, this.outBytes, from, to)
    if (!this.asSpans) this.outCount += count
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

  // A line of another direct link (two tsf writers into one pipe): becomes the fast one.
  private takeDirect(bytes: Buffer): boolean {
    const n = bytes.length
    const at = bytes.lastIndexOf(ackKeyBytes, n - 3)
    if (at < 1) return false
    const parsed = parseCursor(bytes.toString('latin1', at + ACK_KEY_LENGTH, n - 2))
    const link = parsed && this.links.get(parsed.link)
    if (!link || !link.direct || link.nonce !== parsed.nonce) return false
    this.fast = link
    this.pushRange(bytes, 0, at)
    this.positions.set(link.id, parsed.position)
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
      `an event line longer than ${this.frameMax} bytes was cut into text pieces marked "cont" (its writer did not say its --max-line in time: an older tsf, or a filter in between); give every stage the same --max-line`,
    )
    this.takeText(Buffer.concat([bytes.subarray(0, at), CLOSE]))
    const link = this.linkTo(parsed.link, parsed.nonce)
    if (link.state !== 'unreachable') this.positions.set(parsed.link, parsed.position)
  }

  // A line as the body of a plain event, cut by our --max-line.
  private takeText(bytes: Buffer): void {
    if (bytes.length > this.maxLine) this.cutText(bytes)
    else this.push(plainLineHead(bytes))
  }

  private cutText(bytes: Buffer): void {
    this.countOversize()
    const cutter = new LineFramer(this.maxLine, this.options.truncate)
    let last = WHOLE as PieceKind
    let pieces = 0
    const sink = (piece: Buffer, _end: number, kind: PieceKind): void => {
      last = kind
      pieces++
      this.push(plainLineHead(piece, kind === CONT ? { cont: true } : kind === TRUNCATED ? { truncated: true } : undefined))
    }
    cutter.push(bytes, 0, sink)
    const before = pieces
    cutter.flush(bytes.length, sink)
    if (pieces === before && last === CONT) this.push(plainLineHead(Buffer.alloc(0)))
  }

  // At EOF: a line without its newline. If a linked writer died, it is the torn end of its last
  // write and is discarded (the writer re-sends it after restart); otherwise it is a line.
  private async lastLine(): Promise<InputBatch | undefined> {
    const rest = this.framer.rest()
    if (!rest) return undefined
    const unfinished = [...this.links.values()].filter((l) => !l.fin)
    // A writer we could not reach (it died before we linked up) never finished either: a last
    // line without a whole cursor is its torn last write, not a line (a capture replayed from a
    // file may end without a newline: its last line still carries its cursor and is kept). Only
    // a line shaped like the start of a tsf writer's line ("{" but not yet valid JSON) counts as
    // torn: a link we cannot reach may be a forged cursor, and then nobody would re-send the
    // plain text or whole JSON line it would make us drop.
    const torn =
      unfinished.some((l) => l.state !== 'unreachable') ||
      [...this.watches].some((w) => w.writer && !w.fin) ||
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
    const open = (): boolean =>
      [...this.links.values()].some((l) => l.state !== 'unreachable' && !l.fin && !l.closed) ||
      [...this.watches].some((w) => !w.fin && !w.closed)
    while (open() && Date.now() < deadline) await pause(10)
  }

  private linkTo(id: string, nonce: string): Link {
    let link = this.links.get(id)
    if (link) return link
    link = {
      id,
      state: 'connecting',
      nonce,
      direct: false,
      prefix: Buffer.from(`${ACK_KEY}${id}.${nonce}.`, 'latin1'),
      fin: false,
      closed: false,
      sent: 0,
      due: 0,
    }
    this.links.set(id, link)
    const l = link
    const socket = connect({ path: socketPath(id) })
    l.socket = socket
    socket.setNoDelay(true)
    let connected = false
    let refused = false
    socket.on('connect', () => {
      connected = true
      socket.write(hello(nonce) + (this.options.window ? askWindow(this.options.window) : ''))
    })
    socket.on('error', () => {
      // a reset after it accepted us (ECONNRESET: killed with our HELLO unread) is decided at close
      if (l.state === 'connecting' && !connected) l.state = 'unreachable'
    })
    socket.pipe(split2()).on('data', (line: string) => {
      if (line === REFUSED) refused = true
      else if (line === 'OK') {
        l.state = 'up'
        this.sendAcks()
      } else if (maxLinePattern.test(line)) this.told(Number(maxLinePattern.exec(line)![1]))
      else if (finPattern.test(line)) l.fin = true
      else if (pipePattern.test(line)) {
        if (!l.direct && this.stdinInode >= 0 && Number(pipePattern.exec(line)![1]) === this.stdinInode) {
          l.direct = true
          this.directLinks++
          this.fast = l
        }
      } else if (sharedPattern.test(line)) {
        if (l.direct) {
          l.direct = false
          this.directLinks--
          if (this.fast === l) this.fast = undefined
        }
      } else if (lostPattern.test(line)) {
        // a clean end of its output (no torn line), but the pipeline upstream of it is broken
        l.fin = true
        this.loseUpstream()
      } else if (ackPattern.test(line)) {
        // not sent by writers; ignored
      }
    })
    socket.on('close', () => {
      const wasUp = l.state === 'up'
      // A writer that accepted our connection was alive: a close before it answered (no OK, no
      // NO) is a kill -9 that came before it read our HELLO, however soon after its events.
      const diedAnswering = l.state === 'connecting' && connected && !refused
      if (l.state === 'connecting') l.state = diedAnswering ? 'dead' : 'unreachable'
      l.closed = true
      if ((wasUp || diedAnswering) && !l.fin) this.loseUpstream()
    })
    return link
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
    const entry = this.inflight.get(batch.id)
    if (!entry) return
    entry.done = true
    while (true) {
      const next = this.inflight.get(this.ackedUpTo)
      if (!next || !next.done) break
      for (const [id, position] of next.batch.positions) {
        const link = this.links.get(id)
        if (link && position > link.due) link.due = position
      }
      this.inflight.delete(this.ackedUpTo)
      this.ackedUpTo++
    }
    if (!this.ackScheduled) {
      this.ackScheduled = true
      setImmediate(() => this.sendAcks())
    }
  }

  // writers of our stdin that introduced themselves and have not ended
  get knownWriters(): number {
    let n = 0
    for (const w of this.watches) if (w.writer && !w.fin && !w.closed) n++
    return n
  }

  get pending(): number {
    return this.inflight.size
  }

  private sendAcks(): void {
    this.ackScheduled = false
    for (const link of this.links.values()) {
      if (link.state === 'up' && !link.closed && link.due > link.sent) {
        link.socket!.write(`ACK ${link.due}\n`)
        link.sent = link.due
      }
    }
  }

  close(): void {
    this.announcer?.close()
    for (const watch of this.watches) watch.socket.destroy()
    this.sendAcks()
    for (const link of this.links.values()) link.socket?.end()
  }
}

// the NDJSON buffer of InputOptions.lines batches: several batches share one, in turn
const LINES_BUFFER = 1024 * 1024
// the frame for event lines whose bodies are at most maxLine bytes: escapes (\uXXXX, \") and
// the event's other fields make a line up to about 8 times its body
const frameFor = (maxLine: number): number => maxLine * 8 + 65536
// more than a read adds to a partial line (reused stdin chunks are 128 KiB)
const READ_AHEAD = 1024 * 1024
// what a read returns to wait at a frame's edge (atFrameEdge)
const SETTLE = Symbol('settle')
// how long a line at the frame's edge waits for writers still saying their max-line
const SETTLE_FOR = 3000
// released blocks kept for reuse (more are left to the collector)
const FREE_BLOCKS = 4
const EMPTY = Buffer.alloc(0)
const CLOSE = Buffer.from('}')

// Whether a line is whole JSON (a torn piece of a tsf writer's line never is).
const isJson = (line: Buffer): boolean => {
  try {
    JSON.parse(line.toString('utf8'))
    return true
  } catch {
    return false
  }
}
