import { EventEmitter, once } from 'node:events'
import { fstatSync, fsync } from 'node:fs'
import { connect, createServer, Socket, type Server } from 'node:net'
import { randomBytes } from 'node:crypto'
import split2 from 'split2'
import { isHeadBlock, type Heads } from '../head-block.js'
import { info, warnOnce } from '../log.js'
import { aborted } from '../shutdown.js'
import { newLinkId, readerAnnouncePath, socketPath } from './cursor.js'
import { ackPattern, helloPattern, MAX_ASKED_WINDOW, windowPattern } from './protocol.js'
import { decideMode, linkedAgain, watchSilence, type ModeHost, type OutputMode } from './mode.js'
import { pipeShared, stdoutKind, type StdoutKind } from './stdout-kind.js'

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
  // an injected stdout kind, for tests
  kind?: StdoutKind
}

interface Mark {
  position: number
  bytes: number
  onDurable?: () => void
}

const CHUNK = 64 * 1024
// how long a writer keeps trying to introduce itself to a tsf reader that is still starting
const INTRODUCE_FOR = 10_000

export class EventOutput extends EventEmitter {
  mode: OutputMode = 'pending'
  readonly link = newLinkId()
  private readonly nonce = randomBytes(12).toString('base64url')
  private readonly prefix: string
  private readonly prefixBytes: Buffer
  private readonly digits = new Counter()
  private position = 0 // last position handed out
  private written = 0 // last position handed to the kernel
  private synced = 0 // last position fsynced (file mode)
  private acked = 0 // last position acked by a linked reader
  private durable = 0
  private bytesOut = 0
  private bytesDurable = 0
  private marks: Mark[] = []
  private markHead = 0
  private chunk: Buffer = Buffer.allocUnsafe(CHUNK * 2)
  private readonly spare: Buffer[] = []
  // where new chunks come from when the heads written render fastest into buffers of their own
  private chunkSource?: (size: number) => Buffer | undefined
  private flushes = 0
  private flushesAtYield = 0
  private chunkBytes = 0
  private flushScheduled = false
  private lineAtomic = false // another writer shares our stdout pipe
  private atomicQueue: ({ data: Buffer; done?: (error?: Error | null) => void } | undefined)[] = []
  private atomicHead = 0
  private atomicBusy = false
  private upstreamLost = false
  private server?: Server
  private links = new Set<Socket>()
  // our connection to the announce socket of the tsf reader of our stdout pipe (WRITER)
  private watch?: Socket
  private known = false // the reader confirmed it knows us (KNOWN)
  private everLinked = false
  private direct = false // stdout is a pipe read by a tsf command
  private lastProgress = Date.now()
  private timers: NodeJS.Timeout[] = []
  private syncing = false
  private ended = false
  private endSent = false // FIN or LOST said: stdout closed on purpose
  private closed = false
  private readonly withCursor: boolean
  private pipeInode = -1
  readonly kind: StdoutKind
  private readonly out: NodeJS.WritableStream & { writableNeedDrain?: boolean }
  private window: number

  constructor(private readonly options: OutputOptions = {}) {
    super()
    this.kind = options.kind ?? stdoutKind(options.fd ?? 1)
    this.out = options.stream ?? openStdout(this.kind, options.fd ?? 1)
    this.window = options.window ?? 16 * 1024 * 1024
    this.prefix = `,"_ack":"${this.link}.${this.nonce}.`
    this.prefixBytes = Buffer.from(this.prefix, 'latin1')
    // nobody can link through a terminal: keep the screen free of cursors
    this.withCursor = this.kind !== 'terminal'
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
    if (this.withCursor) await this.listen()
    if (this.kind === 'pipe' || this.kind === 'socket') this.decide()
    if (this.kind === 'pipe' && this.pipeInode >= 0 && this.withCursor) this.introduce(Date.now() + INTRODUCE_FOR)
    if (this.kind === 'pipe') {
      for (const after of [1000, 3000, 10_000]) {
        const timer = setTimeout(() => this.checkShared(), after)
        timer.unref()
        this.timers.push(timer)
      }
    }
    return this
  }

  private async listen(): Promise<void> {
    const server = createServer((socket) => this.onLink(socket))
    this.server = server
    server.listen({ path: socketPath(this.link) })
    await once(server, 'listening')
    server.unref()
  }

  // Introduce ourselves to the tsf reader of our stdout pipe, on the socket it announces itself on,
  // and keep that connection until we exit: the reader then knows us before our first event, and a
  // close without FIN or LOST tells it we died even if we never wrote an event (an idle
  // `tsf collect` killed -9 must not let the rest of the pipeline end with 0). Retried while the
  // reader may still be starting; a reader that is not tsf never answers and is given up on.
  private introduce(until: number): void {
    if (this.closed || this.watch || this.mode === 'write' || this.mode === 'file' || Date.now() > until) return
    const socket = connect({ path: readerAnnouncePath(this.pipeInode) })
    socket.on('error', () => {
      if (this.watch === socket) this.watch = undefined
      else {
        const timer = setTimeout(() => this.introduce(until), 50)
        timer.unref()
        this.timers.push(timer)
      }
    })
    socket.on('connect', () => {
      socket.unref()
      this.watch = socket
      socket.write('WRITER\n')
      if (this.ended && this.endSent) socket.write(this.endMessage())
    })
    // the reader says KNOWN once it has taken our WRITER line (after its own 'tsf' greeting)
    socket.setEncoding('latin1')
    let text = ''
    socket.on('data', (chunk: string) => {
      if (this.known) return
      text += chunk
      if (text.includes('KNOWN\n')) this.known = true
    })
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
      waiting: () => this.durable < this.written,
      sinceProgress: () => Date.now() - this.lastProgress,
      onLook: () => this.checkShared(),
      timers: this.timers,
    }
  }

  // Other writers of the same pipe may start a little after us: look a few times.
  private checkShared(): void {
    if (this.lineAtomic || this.kind !== 'pipe') return
    if (pipeShared(this.options.fd ?? 1)) {
      this.lineAtomic = true
      for (const link of this.links) link.write('SHARED\n')
      info('another program writes into the same pipe: writing whole lines of at most 4096 bytes (PIPE_BUF) so lines never interleave')
    }
  }

  private setMode(mode: OutputMode): void {
    this.mode = mode
    this.lastProgress = Date.now()
    this.advance()
    if (mode === 'acked' && !this.direct) watchSilence(this.modeHost(), this.options)
  }

  private onLink(socket: Socket): void {
    let authenticated = false
    let refused = false
    socket.setNoDelay(true)
    socket.on('error', () => socket.destroy())
    const lines = socket.pipe(split2())
    lines.on('data', (line: string) => {
      if (refused) return
      if (!authenticated) {
        const m = helloPattern.exec(line)
        if (!m || m[1] !== this.nonce) {
          // said, so the reader can tell a refusal from a writer that died before answering
          refused = true
          return socket.end('NO\n')
        }
        authenticated = true
        this.links.add(socket)
        this.everLinked = true
        socket.write('OK\n')
        // tells a reader whose stdin is our stdout that our lines reach it unfiltered
        // (not when another program writes into the pipe too: its bytes could land inside a long line)
        if (this.pipeInode >= 0 && !this.lineAtomic) socket.write(`PIPE ${this.pipeInode}\n`)
        if (this.ended) socket.write(this.endMessage())
        if (this.mode === 'pending') this.setMode('acked')
        else linkedAgain(this.modeHost())
        return
      }
      const m = ackPattern.exec(line)
      if (!m) {
        // a reader whose commits cost a fixed wait asks for more in flight: never less than ours
        const w = windowPattern.exec(line)
        if (w && Number(w[1]) > this.window) {
          this.window = Math.max(this.window, Math.min(Number(w[1]), MAX_ASKED_WINDOW))
          this.emit('progress')
        }
        return
      }
      const position = Math.min(Number(m[1]), this.position)
      if (position > this.acked) {
        if (this.mode === 'write') linkedAgain(this.modeHost())
        this.acked = position
        this.lastProgress = Date.now()
        this.advance()
      }
    })
    socket.on('close', () => {
      if (!this.links.delete(socket)) return
      if (this.links.size === 0 && !this.closed && !(this.ended && this.durable >= this.position)) {
        this.emit('downstream-lost', new Error('the tsf reader of our stdout went away'))
      }
    })
  }

  private onStdoutError(error: NodeJS.ErrnoException): void {
    if (this.closed) return
    this.closed = true
    if (error.code === 'EPIPE' || error.code === 'ERR_STREAM_DESTROYED') {
      // A tsf reader that dies is a failure of the pipeline; `| head` going away is not. A reader
      // that answered KNOWN on its announce socket is a tsf reader, even before it linked up.
      if (this.everLinked || this.direct || this.known) this.emit('downstream-lost', new Error('the tsf reader of our stdout went away'))
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
    const n = heads.length
    // Render straight into one buffer: per-event strings, a join and a UTF-8 encode of the join
    // cost about three times as much (see BENCHMARKS.md, codec). A full chunk is handed to the
    // stream at once, so a large write never grows (and copies) the buffer.
    const tail = this.prefix.length + 24
    if (isHeadBlock(heads)) {
      if (heads.chunk && !this.chunkSource) this.chunkSource = heads.chunk.bind(heads)
      for (let i = 0; i < n; i++) {
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
    if (onDurable || n) this.marks.push({ position: this.position, bytes: this.bytesOut, onDurable })
    if (this.chunkBytes >= CHUNK) this.flush()
    else if (!this.flushScheduled && this.chunkBytes > 0) {
      this.flushScheduled = true
      setImmediate(() => this.flush())
    }
  }

  // The same as write() for events given as one run of bytes: event heads, each followed by "\n"
  // (a channel block). No object per event: each line is copied and its cursor added.
  writeLines(lines: Buffer, onDurable?: () => void): void {
    if (this.closed) return
    const tail = this.prefix.length + 24
    for (let at = 0; at < lines.length; ) {
      let nl = lines.indexOf(0x0a, at)
      if (nl === -1) nl = lines.length
      this.room(nl - at + tail)
      this.endEvent(this.chunkBytes + lines.copy(this.chunk, this.chunkBytes, at, nl))
      at = nl + 1
    }
    this.write(NO_HEADS, onDurable) // the mark for onDurable, and the chunk handed on
  }

  // Makes sure the chunk has `room` more bytes: hands a well-filled chunk to the stream first.
  private room(room: number): void {
    if (this.chunkBytes + room > this.chunk.length) {
      if (this.chunkBytes >= CHUNK / 2) this.flush()
      if (this.chunkBytes + room > this.chunk.length) this.grow(room)
    }
  }

  // A head was rendered up to `at`: the cursor, the closing brace and the newline follow.
  private endEvent(at: number): void {
    const buf = this.chunk
    this.position++
    if (this.withCursor) {
      buf.set(this.prefixBytes, at)
      at += this.prefixBytes.length
      at += this.digits.next(buf, at)
      buf[at++] = 0x22 // "
    }
    buf[at++] = 0x7d // }
    buf[at++] = 0x0a // \n
    this.bytesOut += at - this.chunkBytes
    this.chunkBytes = at
  }

  // Makes room for at least `need` more bytes, keeping what the chunk holds.
  private grow(need: number): void {
    const bigger = Buffer.allocUnsafe(Math.max(CHUNK * 2, this.chunkBytes + need + CHUNK))
    this.chunk.copy(bigger, 0, 0, this.chunkBytes)
    this.chunk = bigger
  }

  // More than the window written and not acked: the reader is behind (a momentarily full pipe is not).
  get full(): boolean {
    return !this.closed && this.bytesOut - this.bytesDurable > this.window
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
    while (!this.closed && (this.bytesOut - this.bytesDurable > this.window || this.out.writableNeedDrain)) {
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
    return this.known
  }

  get unacked(): number {
    return this.position - this.durable
  }

  get total(): number {
    return this.position
  }

  private flush(): void {
    this.flushScheduled = false
    if (this.chunkBytes === 0 || this.closed) return
    // hand the filled part to the stream and go on in another buffer: the stream owns that memory
    // until its write is done, then it comes back for reuse (fresh ones each time grew the heap
    // by megabytes of garbage before a collection)
    const full = this.chunk
    this.flushes++
    const data = full.subarray(0, this.chunkBytes)
    this.chunk = this.spare.pop() ?? this.chunkSource?.(CHUNK * 2) ?? Buffer.allocUnsafe(CHUNK * 2)
    this.chunkBytes = 0
    const upTo = this.position
    const done = (error?: Error | null): void => {
      if (error) return
      if (full.length === CHUNK * 2 && this.spare.length < 8) this.spare.push(full)
      if (upTo > this.written) this.written = upTo
      if (this.mode === 'file') this.sync()
      else this.advance()
    }
    if (!this.lineAtomic) this.out.write(data, done)
    else {
      const pieces = atomicPieces(data)
      for (let i = 0; i < pieces.length; i++) this.atomicQueue.push({ data: pieces[i]!, done: i === pieces.length - 1 ? done : undefined })
      this.pumpAtomic()
    }
  }

  // Shared pipe: one piece per write(2), the next only once the last is in the pipe. A stream
  // with writes queued hands them to the kernel as one writev(), which is atomic only up to
  // PIPE_BUF in total: lines of several writers tore in the middle (one in a few thousand).
  private pumpAtomic(): void {
    if (this.atomicBusy) return
    const next = this.closed ? undefined : this.atomicQueue[this.atomicHead]
    if (!next) {
      this.emit('atomic-idle')
      return
    }
    this.atomicQueue[this.atomicHead++] = undefined
    if (this.atomicHead === this.atomicQueue.length) {
      this.atomicQueue = []
      this.atomicHead = 0
    }
    this.atomicBusy = true
    this.out.write(next.data, (error) => {
      this.atomicBusy = false
      next.done?.(error)
      this.pumpAtomic()
    })
  }

  // Group commit for a regular-file stdout: one fsync covers everything written before it began.
  private sync(): void {
    if (this.syncing) return
    this.syncing = true
    const upTo = this.written
    fsync(this.options.fd ?? 1, () => {
      this.syncing = false
      this.synced = upTo
      this.advance()
      if (this.written > this.synced) this.sync()
    })
  }

  private advance(): void {
    const durable =
      this.mode === 'write'
        ? this.written
        : this.mode === 'file'
          ? this.synced
          : this.mode === 'acked'
            ? Math.min(this.acked, this.written)
            : this.durable
    if (durable <= this.durable) return
    this.durable = durable
    const marks = this.marks
    while (this.markHead < marks.length && marks[this.markHead]!.position <= durable) {
      const mark = marks[this.markHead++]!
      this.bytesDurable = mark.bytes
      const onDurable = mark.onDurable
      // done marks stay in the array a while: drop the callback so it keeps nothing alive
      mark.onDurable = undefined
      onDurable?.()
    }
    if (this.markHead > 1024 && this.markHead * 2 > marks.length) {
      this.marks = marks.slice(this.markHead)
      this.markHead = 0
    }
    this.emit('progress')
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
        this.atomicDrained().then(
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
        for (const link of this.links) link.write(this.endMessage())
        this.watch?.write(this.endMessage())
      }
    }
    while (this.durable < this.position && !this.closed && !signal?.aborted) {
      const left = deadline - Date.now()
      if (left <= 0) break
      // the listener is removed each round: a long wait must not pile them up
      const round = new AbortController()
      await Promise.race([once(this, 'progress', { signal: round.signal }).catch(() => undefined), sleep(Math.min(left, 200))])
      round.abort()
    }
    return this.position - this.durable
  }

  private async atomicDrained(): Promise<void> {
    if (!this.closed && (this.atomicBusy || this.atomicHead < this.atomicQueue.length)) await once(this, 'atomic-idle')
  }

  // Our upstream writer died: our own end must not look clean to the reader after us, or the
  // last stage of the pipeline exits 0 and a supervisor with Restart=on-failure does not restart it.
  markUpstreamLost(): void {
    this.upstreamLost = true
  }

  private endMessage(): string {
    return `${this.upstreamLost ? 'LOST' : 'FIN'} ${this.position}\n`
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t)
    for (const link of this.links) link.end()
    this.watch?.end()
    this.server?.close()
  }
}

const PIPE_BUF = 4096
const NO_HEADS: never[] = [] // write(NO_HEADS, onDurable): only the mark and the flush

// Cuts a run of whole lines into pieces of at most PIPE_BUF bytes that end with a newline: the
// kernel writes each such piece to a pipe atomically. A longer line stays one piece (and may
// interleave with another writer's: nothing can prevent that).
const atomicPieces = (data: Buffer): Buffer[] => {
  const pieces: Buffer[] = []
  let start = 0
  while (data.length - start > PIPE_BUF) {
    let cut = data.lastIndexOf(0x0a, start + PIPE_BUF - 1)
    if (cut < start) {
      cut = data.indexOf(0x0a, start + PIPE_BUF)
      warnOnce(
        'long-line-shared-pipe',
        'a line longer than 4096 bytes went into a pipe shared with another writer: it may interleave with theirs',
      )
      if (cut === -1) break
    }
    pieces.push(data.subarray(start, cut + 1))
    start = cut + 1
  }
  if (start < data.length) pieces.push(data.subarray(start))
  return pieces
}

// The position counter kept as ASCII digits and incremented in place: positions go 1, 2, 3 …, so
// writing the next one is a copy and (nearly always) one digit change, not a number-to-text.
class Counter {
  private digits = Buffer.from('0')

  // Advances to the next position and writes it at `at`; returns its length.
  next(buf: Buffer, at: number): number {
    let i = this.digits.length - 1
    while (i >= 0 && this.digits[i] === 0x39) this.digits[i--] = 0x30
    if (i < 0) this.digits = Buffer.concat([Buffer.from('1'), this.digits])
    else this.digits[i]!++
    buf.set(this.digits, at)
    return this.digits.length
  }
}

// Node's direct encoders (Buffer.write without the argument juggling); present since Node 0.x but
// not in @types/node.
type RawBuffer = Buffer & { utf8Write(s: string, offset: number): number }

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

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
