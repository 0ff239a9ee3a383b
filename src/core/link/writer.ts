import { EventEmitter, once } from 'node:events'
import { fstatSync } from 'node:fs'
import { Socket } from 'node:net'
import type { Writable } from 'node:stream'
import { randomBytes } from 'node:crypto'
import type { Heads } from '../head-block.js'
import { info } from '../log.js'
import { pause } from '../wait.js'
import { aborted } from '../shutdown.js'
import { newLinkId } from './cursor.js'
import { DEFAULT_MAX_LINE, MAX_ASKED_WINDOW } from './protocol.js'
import { decideMode, linkedAgain, watchSilence, type ModeHost, type OutputMode } from './mode.js'
import { pipeShared, stdoutKind, type StdoutKind } from './stdout-kind.js'
import { AtomicWrites } from './atomic-writes.js'
import { Durability } from './durability.js'
import { LinkServer, type LinkHost } from './link-server.js'
import { CHUNK, RenderBuffer } from './render.js'

export type { OutputMode } from './mode.js'

export interface OutputOptions {
  // how long a non-tsf reader (grep, jq, a socket) gets for a tsf reader further down to link up
  grace?: number
  // how long a shell holding the read end may take to exec into a tsf reader
  shellGrace?: number
  // linked through a filter: after this long without ack progress the writer says so (it stays acked)
  linkTimeout?: number
  // most bytes written but not yet durable; writing waits beyond it
  window?: number
  fd?: number
  stream?: NodeJS.WritableStream & { writableNeedDrain?: boolean }
  // the longest line this stage writes whole (its --max-line; a forwarding stage's input max-line),
  // told to every reader (MAXLINE) so it frames our lines by at least that
  maxLine?: number
  // an injected stdout kind, for tests
  kind?: StdoutKind
}

// how long a writer keeps trying to introduce itself to a tsf reader that is still starting
const INTRODUCE_FOR = 10_000

// EventOutput: writes events to stdout and tells when they are durable downstream. Its parts:
// the mode decision (mode.ts), the link server (link-server.ts), the render buffer (render.ts),
// line-atomic writes into a shared pipe (atomic-writes.ts) and what is durable (durability.ts).
export class EventOutput extends EventEmitter {
  mode: OutputMode = 'pending'
  readonly link = newLinkId()
  private readonly nonce = randomBytes(12).toString('base64url')
  private readonly render: RenderBuffer
  private readonly durability = new Durability()
  private readonly linkServer: LinkServer
  private flushes = 0
  private flushesAtYield = 0
  private flushScheduled = false
  private lineAtomic = false // another writer shares our stdout pipe
  private readonly atomic: AtomicWrites
  private upstreamLost = false
  private direct = false // stdout is a pipe read by a tsf command
  private lastProgress = Date.now()
  private timers: NodeJS.Timeout[] = []
  private ended = false
  private endSent = false // FIN or LOST said: stdout closed on purpose
  private closed = false
  private readonly withCursor: boolean
  private pipeInode = -1
  readonly kind: StdoutKind
  private readonly out: NodeJS.WritableStream & { writableNeedDrain?: boolean }
  private window: number
  private maxLine: number

  constructor(private readonly options: OutputOptions = {}) {
    super()
    this.kind = options.kind ?? stdoutKind(options.fd ?? 1)
    this.out = options.stream ?? openStdout(this.kind, options.fd ?? 1)
    this.window = options.window ?? 16 * 1024 * 1024
    this.maxLine = options.maxLine ?? DEFAULT_MAX_LINE
    // nobody can link through a terminal: keep the screen free of cursors
    this.withCursor = this.kind !== 'terminal'
    this.render = new RenderBuffer(
      `,"_ack":"${this.link}.${this.nonce}.`,
      this.withCursor,
      () => this.flush(),
      (lines, cursor, written) => this.writeDirect(lines, cursor, written),
    )
    this.atomic = new AtomicWrites(this.out, () => this.closed)
    this.linkServer = new LinkServer(this.linkHost())
    if (this.kind === 'pipe' && !options.stream) {
      try {
        this.pipeInode = fstatSync(options.fd ?? 1).ino
      } catch {
        // closed meanwhile: the reader takes the checked path
      }
    }
    this.out.on('error', (error: NodeJS.ErrnoException) => this.onStdoutError(error))
  }

  // Opens the link socket and decides the mode from what stdout is.
  async open(): Promise<this> {
    if (this.kind === 'terminal' || this.kind === 'device' || this.kind === 'closed') this.setMode('write')
    else if (this.kind === 'file') this.setMode('file')
    if (this.withCursor) await this.linkServer.listen(this.link)
    if (this.kind === 'pipe' || this.kind === 'socket') this.decide()
    if (this.kind === 'pipe' && this.pipeInode >= 0 && this.withCursor) {
      this.linkServer.introduce(
        this.pipeInode,
        Date.now() + INTRODUCE_FOR,
        () => this.closed || this.mode === 'write' || this.mode === 'file',
      )
    }
    if (this.kind === 'pipe') {
      for (const after of [1000, 3000, 10_000]) {
        const timer = setTimeout(() => this.checkShared(), after)
        timer.unref()
        this.timers.push(timer)
      }
    }
    return this
  }

  private decide(): void {
    decideMode(this.modeHost(), this.options)
  }

  // What the mode decision (mode.ts) sees of this writer.
  private modeHost(): ModeHost {
    const writer = this
    return {
      kind: this.kind,
      fd: this.options.fd ?? 1,
      get mode() {
        return writer.mode
      },
      setMode: (mode, direct) => {
        if (direct) this.direct = true
        this.setMode(mode)
      },
      waiting: () => this.durability.durable < this.durability.written,
      sinceProgress: () => Date.now() - this.lastProgress,
      onLook: () => this.checkShared(),
      timers: this.timers,
    }
  }

  // What the link server (link-server.ts) sees of this writer.
  private linkHost(): LinkHost {
    return {
      nonce: this.nonce,
      maxLine: () => this.maxLine,
      pipeFor: () => (this.pipeInode >= 0 && !this.lineAtomic ? this.pipeInode : -1),
      endOnLink: () => (this.ended ? this.endMessage() : undefined),
      endOnWatch: () => (this.ended && this.endSent ? this.endMessage() : undefined),
      linked: () => {
        if (this.mode === 'pending') this.setMode('acked')
        else linkedAgain(this.modeHost())
      },
      acked: (acked) => {
        const position = Math.min(acked, this.render.position)
        if (position > this.durability.acked) {
          if (this.mode === 'write') linkedAgain(this.modeHost())
          this.durability.acked = position
          this.lastProgress = Date.now()
          this.advance()
        }
      },
      // never less than ours
      askedWindow: (window) => {
        if (window > this.window) {
          this.window = Math.max(this.window, Math.min(window, MAX_ASKED_WINDOW))
          this.emit('progress')
        }
      },
      // our lines reach that reader unfiltered and it counts them: a cursor per write is enough
      // (never while another program writes into the pipe)
      sparse: () => this.render.setSparse(!this.lineAtomic),
      lost: () => {
        if (!this.closed && !(this.ended && this.durability.durable >= this.render.position)) {
          this.emit('downstream-lost', new Error('the tsf reader of our stdout went away'))
        }
      },
      // Once we ended, the reader closes our introduction when it exits after our FIN (before
      // its last acks on the link may be read): only a link's close can say it died then.
      readerGone: () => {
        if (!this.closed && !this.ended) this.emit('downstream-lost', new Error('the tsf reader of our stdout went away'))
      },
    }
  }

  // A forwarding stage's upstream told it a larger max-line: its lines may be that long now, so say
  // so before writing any of them.
  raiseMaxLine(bytes: number): void {
    if (bytes <= this.maxLine) return
    this.maxLine = bytes
    this.linkServer.tellMaxLine(bytes)
  }

  // Other writers of the same pipe may start a little after us: look a few times.
  private checkShared(): void {
    if (this.lineAtomic || this.kind !== 'pipe') return
    if (pipeShared(this.options.fd ?? 1)) {
      this.lineAtomic = true
      this.render.setSparse(false)
      this.linkServer.tell('SHARED\n')
      info('another program writes into the same pipe: writing whole lines of at most 4096 bytes (PIPE_BUF) so lines never interleave')
    }
  }

  private setMode(mode: OutputMode): void {
    this.mode = mode
    this.lastProgress = Date.now()
    this.advance()
    if (mode === 'acked' && !this.direct) watchSilence(this.modeHost(), this.options)
  }

  private onStdoutError(error: NodeJS.ErrnoException): void {
    if (this.closed) return
    this.closed = true
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') {
      // A tsf reader that dies is a failure of the pipeline; `| head` going away is not. A reader
      // that answered KNOWN on its announce socket is a tsf reader, even before it linked up.
      if (this.linkServer.everLinked || this.direct || this.linkServer.known)
        this.emit('downstream-lost', new Error('the tsf reader of our stdout went away'))
      else this.emit('closed')
      return
    }
    this.emit('downstream-lost', error)
  }

  // Writes events (heads: event JSON without the closing brace, or a block that renders them).
  // onDurable runs once all of them are durable by the current mode's rule. Call ready() before
  // writing more.
  write(heads: Heads, onDurable?: () => void): void {
    if (this.closed) return
    this.render.heads(heads)
    this.marked(heads.length, onDurable)
  }

  // The same as write() for events given as one run of bytes: event heads, each followed by "\n"
  // (a channel block). No object per event: each line is copied and its cursor added.
  writeLines(lines: Buffer, onDurable?: () => void): void {
    if (this.closed) return
    this.render.lines(lines)
    this.marked(0, onDurable) // the mark for onDurable, and the chunk handed on
  }

  // After a write: the mark for onDurable, and the chunk handed to the stream when full or soon.
  private marked(n: number, onDurable?: () => void): void {
    const render = this.render
    if (onDurable || n) this.durability.mark(render.position, render.bytesOut, onDurable)
    if (render.chunkBytes >= CHUNK) this.flush()
    else if (!this.flushScheduled && render.chunkBytes > 0) {
      this.flushScheduled = true
      setImmediate(() => this.flush())
    }
  }

  // More than the window written and not acked: the reader is behind (a momentarily full pipe is
  // not). With a program between us and our tsf reader (not direct), counted past the oldest write
  // not acked, not from it: a line longer than the window, whose end a block-buffering filter
  // (grep) holds, would otherwise stop us for ever (see Durability.oldestPendingEnd). The bound
  // stays the window plus one write (ready() is asked before a write, which may be any size).
  // Read directly, nothing holds our bytes back: a whole window unacked is a reader behind.
  get full(): boolean {
    const from = this.direct ? this.durability.bytesDurable : this.durability.oldestPendingEnd
    return !this.closed && this.render.bytesOut - from > this.window
  }

  // Resolves once stdout drained and the unacked window has room.
  async ready(): Promise<void> {
    // A synchronous stdout (a file, /dev/null) never makes us wait: give the event loop a turn
    // now and then, or the stream's write callbacks (which return our output chunks for reuse)
    // pile up behind a source that reads and writes without pause.
    if (this.flushes - this.flushesAtYield >= 4) {
      this.flushesAtYield = this.flushes
      await new Promise<void>((resolve) => setImmediate(resolve))
    }
    while (!this.closed && (this.full || this.out.writableNeedDrain)) {
      if (this.out.writableNeedDrain)
        await once(this.out, 'drain').catch(() => undefined) // errors: see onStdoutError
      else {
        // a referenced timer while we wait: until the reader links up and acks, nothing else may
        // keep the event loop alive (stdin paused, stdout idle), and node would exit 13 mid-input
        const keepAlive = setInterval(() => undefined, 60_000)
        await once(this, 'progress').finally(() => clearInterval(keepAlive))
      }
    }
  }

  // introduced to the tsf reader of our stdout pipe (it will know if we die before any event)
  get introduced(): boolean {
    return this.linkServer.known
  }

  get unacked(): number {
    return this.render.position - this.durability.durable
  }

  get total(): number {
    return this.render.position
  }

  private flush(): void {
    this.flushScheduled = false
    if (this.render.chunkBytes === 0 || this.closed) return
    this.flushes++
    const full = this.render.take()
    const data = full.subarray(0, this.render.taken)
    const upTo = this.render.position
    const done = (error?: Error | null): void => {
      if (error) return
      this.render.giveBack(full)
      this.wrote(upTo)
    }
    if (!this.lineAtomic) this.out.write(data, done)
    else this.atomic.write(data, done)
  }

  // Sparse cursors: a run of lines written as it lies (a collector's batch), its last line's
  // cursor after it, in one writev; `written` once the stream is done with their bytes.
  private writeDirect(lines: Buffer, cursor: Buffer, written: () => void): void {
    if (this.closed) return written()
    this.flushes++
    const upTo = this.render.position
    const done = (error?: Error | null): void => {
      written()
      if (!error) this.wrote(upTo)
    }
    const out = this.out as Partial<Writable> & NodeJS.WritableStream
    out.cork?.()
    out.write(lines)
    out.write(cursor, done)
    out.uncork?.()
  }

  // The stream took our events up to `upTo`: written, and durable by the mode's rule (a file's
  // after its fsync).
  private wrote(upTo: number): void {
    if (upTo > this.durability.written) this.durability.written = upTo
    if (this.mode === 'file') this.durability.sync(this.options.fd ?? 1, () => this.advance())
    else this.advance()
  }

  private advance(): void {
    if (this.durability.advance(this.mode)) this.emit('progress')
  }

  // The input is done: flush, close stdout, tell linked readers, and wait until everything is
  // durable or the timeout passes. Returns how many events stay unacked.
  async end(timeout: number, signal?: AbortSignal): Promise<number> {
    this.flush()
    this.ended = true
    const deadline = Date.now() + timeout
    if (!this.closed) {
      // Ending our stdout lets the reader see EOF while we stay alive to collect its acks. A
      // reader that takes nothing more must not hold us past the timeout (or a second stop):
      // what it did not take is not acked, and without a FIN it knows we did not finish.
      let timer: NodeJS.Timeout | undefined
      const flushed = await Promise.race([
        this.atomic.drained().then(
          () =>
            new Promise<boolean>((resolve) => {
              if (this.out === process.stdout) process.stdout.write('', () => resolve(true))
              else this.out.end(() => resolve(true))
            }),
        ),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeout))),
        ...(signal ? [aborted(signal).then(() => false)] : []),
      ])
      clearTimeout(timer)
      ;(this.out as Partial<Socket>).destroy?.()
      if (flushed) {
        this.endSent = true
        this.linkServer.tellEnd(this.endMessage())
      }
    }
    while (this.durability.durable < this.render.position && !this.closed && !signal?.aborted) {
      const left = deadline - Date.now()
      if (left <= 0) break
      // the listener is removed each round: a long wait must not pile them up
      const round = new AbortController()
      await Promise.race([once(this, 'progress', { signal: round.signal }).catch(() => undefined), pause(Math.min(left, 200))])
      round.abort()
    }
    return this.render.position - this.durability.durable
  }

  // Our upstream writer died: our own end must not look clean to the reader after us, or the
  // last stage of the pipeline exits 0 and a supervisor with Restart=on-failure does not restart it.
  markUpstreamLost(): void {
    this.upstreamLost = true
  }

  private endMessage(): string {
    return `${this.upstreamLost ? 'LOST' : 'FIN'} ${this.render.position}\n`
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t)
    this.linkServer.close()
  }
}

// A pipe or socket stdout gets a stream of our own, so that ending it really closes fd 1 and the
// reader sees EOF (process.stdout can never be closed). Files, terminals and devices use
// process.stdout, whose writes are synchronous there.
// process.stdout is made lazily, at its first mention, as a second stream on fd 1, and node's
// Readable.pipe() mentions it (the first link socket piped, for one): made while ours waits for a
// full pipe to drain, it throws EEXIST (a crash when the tsf reader starts late). So make it first.
const openStdout = (kind: StdoutKind, fd: number): NodeJS.WritableStream & { writableNeedDrain?: boolean } => {
  if (kind !== 'pipe' && kind !== 'socket') return process.stdout
  void process.stdout
  return new Socket({ fd, readable: false, writable: true })
}
