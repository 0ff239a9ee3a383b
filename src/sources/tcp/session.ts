import type { Socket } from 'node:net'
import { allocatedYoungBuffer } from '../../core/buffer-gc.js'
import type { EventHead } from '../../core/event.js'
import { gunzipAsync } from '../../core/lazy-builtins.js'
import { classifyLine } from '../../core/link/cursor.js'
import { LineSplitter } from '../../core/lines.js'
import type { Counters } from '../../core/metrics.js'
import { warn, warnOnce } from '../../core/log.js'
import { decodeBlock } from '../../core/wire/batch.js'
import { ackFrame, errorFrame, FLAG_GZIP, FrameDecoder, FrameError, FrameType, releaseFrame, type Frame } from '../../core/wire/frames.js'
import { FrameMac, MAC_NAME } from '../../core/wire/frame-mac.js'
import {
  agentNamePattern,
  challengeLine,
  clientProof,
  LineReader,
  MAGIC,
  newNonce,
  okLine,
  parseHandshakeLine,
  proofMatches,
  refusedLine,
  serverProof,
  validNonce,
  WIRE_VERSION,
} from '../../core/wire/handshake.js'
import { decodeReport } from '../../core/wire/report.js'
import type { AgentRecord, Agents } from './agents.js'
import type { EventSink } from '../../core/event-sink.js'
import { BudgetShare, type MemoryBudget } from './memory-budget.js'
import { GatedReads } from './gated-reads.js'
import type { ReadGate, Turn } from './read-gate.js'
import { holdReads } from './socket-reads.js'

// frames read ahead of the one being handled, per connection (ship's default window in flight: 4 batches of 900 KiB)
const READ_AHEAD = 4 * 1024 * 1024

export interface SessionOptions {
  token?: Buffer
  // per-agent secrets (--agent-tokens): each sender proves one, and its events' src is bound to it
  agents?: Map<string, Buffer>
  tls?: { cert: Buffer; key: Buffer; ca?: Buffer }
  plain: boolean
  gzip: boolean
  maxEvent: number
  maxBatchBytes: number
  // how long a started hello, frame or plain line may take to arrive whole
  readTimeout: number
  // how long a connection may stay silent
  idleTimeout: number
  // how long a connection may take from accept to the end of its handshake
  handshakeTimeout: number
}

// One sender connection on the collector: tsf hello → frames, or (with --plain) bare lines.
// Nothing a sender sends before it is authenticated is ever emitted; a protocol error costs that
// connection only, with one line on stderr naming the peer.
export class Session {
  private readonly peer: string
  private mode: 'sniff' | 'hello' | 'auth' | 'frames' | 'plain' = 'sniff'
  private readonly lines = new LineReader()
  private readonly decoder: FrameDecoder
  private frames: Frame[] = []
  private working = false
  private closed = false
  private acksCorked = false
  private stopped = false
  private cn = ''
  private sn = ''
  private mac = false
  private readTimer?: NodeJS.Timeout
  private handshakeTimer?: NodeJS.Timeout
  private splitter?: LineSplitter
  // this connection in collect's list of agents (for tsf top), and whether it sends reports
  private agent?: AgentRecord
  private reports = false
  private gzip = false
  private sendMac?: FrameMac
  private srcPrefix?: Buffer
  // bytes this connection holds, as counted in the shared budget
  private readonly share?: BudgetShare
  private queued = 0 // payload bytes of frames waiting in this.frames
  private inflated = 0 // the batch being handled, once gunzipped
  private readAheadPaused = false
  private unacked = 0 // batches handed downstream and not acked yet
  private waiting?: Turn // in the gate's line with a batch
  private leaveGate?: () => void
  // --plain with a gate: its reads take turns there (gated-reads.ts)
  private plainReads?: GatedReads
  // when this connection last sent or was sent something (to pick whom to close when full)
  lastActive = Date.now()

  constructor(
    private readonly socket: Socket,
    private readonly sink: EventSink,
    private readonly options: SessionOptions,
    private readonly counters: Counters,
    budget?: MemoryBudget,
    private readonly roster?: Agents,
    // the listener's one wait for room downstream (read-gate.ts)
    private readonly gate?: ReadGate,
  ) {
    if (budget)
      this.share = new BudgetShare(
        budget,
        counters,
        () => (this.plainReads ? holdReads(this.socket) : this.socket.pause()),
        () => {
          if (this.closed || this.stopped) return
          if (this.plainReads) this.plainReads.resume()
          else if (!this.readAheadPaused) this.socket.resume()
        },
      )
    this.peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`
    this.decoder = new FrameDecoder(options.maxBatchBytes)
    socket.setNoDelay(true)
    socket.setTimeout(options.idleTimeout, () => this.fail(`idle for ${options.idleTimeout} ms`, false))
    // counted from accept: a connection that says nothing, or too little, cannot hold a slot for long
    this.armHandshakeTimer()
    // --plain: a connection may be a plain sender, whose reads take turns in the gate. It reads
    // freely from accept, and is held with the others that do when a herd of senders starts at once
    // (1,000 plain senders connected idle, then all sending: each first read, of up to 64 KiB, was
    // taken and handed on at once, ~90 MB). Its first read is handed on in turn.
    if (options.plain && gate) {
      this.plainReads = new GatedReads(
        socket,
        gate,
        (chunk) => this.onPlainBytes(chunk),
        () => this.closed || this.stopped,
        () => this.share?.paused === true,
      )
      this.plainReads.readingFreely()
    }
    socket.on('data', (chunk: Buffer) => this.onData(chunk))
    socket.on('error', () => this.close())
    socket.on('close', () => this.onClose())
    socket.on('end', () => {
      if (this.mode === 'plain') {
        this.plainReads?.flush()
        this.flushPlain()
      }
    })
  }

  private armHandshakeTimer(): void {
    this.handshakeTimer = setTimeout(() => {
      // held by the gate before it said anything: its wait is the collector's, not the sender's
      if (this.mode === 'sniff' && this.plainReads?.waiting) return this.armHandshakeTimer()
      this.fail(`no handshake within ${this.options.handshakeTimeout} ms of connecting`)
    }, this.options.handshakeTimeout)
  }

  private armReadTimer(): void {
    if (this.readTimer) return
    this.readTimer = setTimeout(
      () => this.fail(`sent nothing whole within ${this.options.readTimeout} ms (a trickling or stuck sender)`),
      this.options.readTimeout,
    )
  }

  private disarmReadTimer(): void {
    if (this.readTimer) clearTimeout(this.readTimer)
    this.readTimer = undefined
  }

  // still in its handshake: nothing proven yet, first to go when the collector is full
  get unproven(): boolean {
    return this.mode === 'sniff' || this.mode === 'hello' || this.mode === 'auth'
  }

  // nothing in flight either way: closing it loses the sender nothing but a reconnect
  get idle(): boolean {
    return !this.working && this.unacked === 0 && this.decoder.partial === 0 && !this.splitter?.buffered
  }

  private endHandshake(): void {
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer)
    this.handshakeTimer = undefined
  }

  // Keeps this connection's share of the memory budget current; pauses reading when it grew past it.
  private account(): void {
    this.share?.update(this.closed ? 0 : this.decoder.partial + this.queued + this.inflated + (this.splitter?.buffered ?? 0), this.closed)
  }

  private onData(chunk: Buffer): void {
    if (this.closed || this.stopped) return
    this.lastActive = Date.now()
    try {
      if (this.mode === 'frames') return this.onFrameBytes(chunk)
      if (this.mode === 'plain') return this.plainReads ? this.plainReads.onData(chunk) : this.onPlainBytes(chunk)
      this.lines.push(chunk)
      this.armReadTimer() // the hello must arrive whole soon after its first byte
      if (this.mode === 'sniff') {
        const head = this.lines.buffered
        const n = Math.min(head.length, MAGIC.length)
        if (head.toString('latin1', 0, n) !== MAGIC.slice(0, n)) {
          if (!this.options.plain)
            return this.fail('did not open with the tsf hello (a plain sender? collect takes those only with --plain)')
          this.mode = 'plain'
          this.endHandshake()
          this.splitter = new LineSplitter({
            maxLine: this.options.maxEvent,
            onOversize: () =>
              warnOnce(
                'plain-oversize',
                `${this.peer}: a plain line longer than ${this.options.maxEvent} bytes was cut into pieces marked "cont"`,
              ),
          })
          this.counters.add('PlainConnectionCount')
          const first = this.lines.rest()
          // (taken before it came to the gate: let in if the gate is free, else held for its turn)
          return this.plainReads ? this.plainReads.onData(first) : this.onPlainBytes(first)
        }
        if (head.length < MAGIC.length) return
        this.mode = 'hello'
        // a tsf sender: its batches take turns in the gate, not its reads
        this.plainReads?.leave()
        this.plainReads = undefined
      }
      this.handshake()
    } catch (e) {
      this.fail(e instanceof FrameError || e instanceof Error ? e.message : String(e))
    }
  }

  private handshake(): void {
    for (let line = this.lines.next(); line !== undefined; line = this.lines.next()) {
      const msg = parseHandshakeLine(line)
      if (!msg) return this.fail('sent a malformed hello')
      if (msg.version !== WIRE_VERSION)
        return this.refuse(`unsupported protocol version ${msg.version} (this collector speaks ${WIRE_VERSION})`)
      if (this.mode === 'hello') {
        if (msg.verb !== 'HELLO' || !validNonce(msg.fields.nonce)) return this.fail('sent a malformed hello')
        this.cn = msg.fields.nonce
        this.sn = newNonce()
        this.gzip = this.options.gzip && (msg.fields.compress ?? '').split(',').includes('gzip')
        const auth = Boolean(this.options.token || this.options.agents)
        const macOffered = (msg.fields.mac ?? '').split(',').includes(MAC_NAME)
        // without TLS the MAC is what keeps a relay from rewriting batches after the proof
        if (auth && !macOffered && !this.options.tls) {
          this.counters.add('ConnectionRefusedCount')
          return this.refuse(
            'frame MACs are required with a token and without TLS: this tsf ship is older than this collector (upgrade it, or use TLS)',
          )
        }
        this.mac = auth && macOffered
        this.reports = msg.fields.report === '1'
        this.socket.write(challengeLine(this.sn, auth, this.gzip, this.mac, this.reports))
        this.mode = 'auth'
      } else if (this.mode === 'auth') {
        if (msg.verb !== 'AUTH') return this.fail('sent a malformed hello')
        const agent = msg.fields.agent
        if (agent !== undefined && !agentNamePattern.test(agent)) return this.fail('sent a malformed agent name')
        let token = this.options.token
        if (this.options.agents) {
          if (agent === undefined) {
            this.counters.add('ConnectionRefusedCount')
            return this.refuse('an agent name is required (tsf ship --agent NAME)')
          }
          token = this.options.agents.get(agent)
        }
        const terms = { mac: this.mac, agent }
        if (
          (this.options.token || this.options.agents) &&
          (!token || !proofMatches(clientProof(token, this.cn, this.sn, terms), msg.fields.proof ?? ''))
        ) {
          this.counters.add('ConnectionRefusedCount')
          return this.refuse(
            msg.fields.proof === '-' ? 'a token is required' : this.options.agents ? 'wrong agent name or token' : 'wrong token',
          )
        }
        this.socket.write(okLine(token ? serverProof(token, this.cn, this.sn, terms) : undefined))
        if (token && this.mac) {
          this.decoder.authenticate(FrameMac.of(token, 'client', this.cn, this.sn))
          this.sendMac = FrameMac.of(token, 'server', this.cn, this.sn)
        }
        // an agent's events live in its own src space: no other sender can claim (and so replace) them
        if (this.options.agents) this.srcPrefix = Buffer.from(`${agent}/`)
        this.mode = 'frames'
        this.endHandshake()
        this.agent = this.roster?.connected(this.peer, agent)
        this.disarmReadTimer()
        const rest = this.lines.rest()
        if (rest.length) this.onFrameBytes(rest)
        return
      }
    }
  }

  private onFrameBytes(chunk: Buffer): void {
    if (this.agent) this.agent.lastContact = Date.now()
    this.decoder.push(chunk, (frame) => {
      // a report says how the agent is now: taken at once, never behind batches that wait
      if (frame.type === FrameType.report && this.reports) return this.takeReport(frame.payload)
      this.frames.push(frame)
      this.queued += frame.payload.length
    })
    if (this.working) this.limitReadAhead()
    if (this.decoder.partial) this.armReadTimer()
    else this.disarmReadTimer()
    this.account()
    if (!this.working && this.frames.length) void this.work()
  }

  private takeReport(payload: Buffer): void {
    const report = decodeReport(payload)
    if (report && this.agent) this.agent.report = report
  }

  // While frames are handled, reading goes on only up to READ_AHEAD bytes of queued frames (about
  // an agent's batches in flight, within the shared --max-buffer): a fast sender waits in TCP, not
  // in our memory, and a report sent while the batches before it wait on a stalled stdout still
  // arrives (takeReport).
  private limitReadAhead(): void {
    const over = this.working && this.queued > READ_AHEAD
    if (over === this.readAheadPaused) return
    this.readAheadPaused = over
    if (over) this.socket.pause()
    else if (!this.closed && !this.stopped && !this.share?.paused) this.socket.resume()
  }

  // Frames of one connection are handled one at a time, in order.
  private async work(): Promise<void> {
    this.working = true
    this.limitReadAhead()
    try {
      while (this.frames.length && !this.closed) {
        // room downstream before a batch is taken, inflated and decoded: one wait shared by all
        // connections, who then take turns (a wait of its own for each woke 1,000 connections at
        // once, each with a decoded batch); meanwhile it still counts as queued
        const frame = this.frames[0]!
        if (frame.type === FrameType.batch) {
          if (this.gate) await this.turn(frame.payload.length)
          else await this.sink.ready()
          if (this.closed || this.frames[0] !== frame) return // closed, or stopped reading
        }
        this.frames.shift()
        this.queued -= frame.payload.length
        this.limitReadAhead()
        if (frame.type !== FrameType.batch)
          return this.fail(
            frame.type === FrameType.error
              ? `closed with: ${frame.payload.toString('utf8').slice(0, 200)}`
              : 'sent a frame only a collector sends',
            frame.type !== FrameType.error,
          )
        let payload = frame.payload
        if (frame.flags & FLAG_GZIP) {
          if (!this.gzip) return this.fail('sent a gzip batch although compression was not agreed in the hello')
          this.counters.add('BatchCompressedCount')
          try {
            payload = await gunzipAsync(payload, { maxOutputLength: this.options.maxBatchBytes })
          } catch (e) {
            return this.fail(`sent a batch that does not gunzip within ${this.options.maxBatchBytes} bytes (${(e as Error).message})`)
          }
        }
        if (this.closed) return
        this.inflated = payload === frame.payload ? 0 : payload.length
        this.account()
        const heads = decodeBlock(payload, {
          maxEvent: this.options.maxEvent,
          srcPrefix: this.srcPrefix,
          onOversize: (n) =>
            warnOnce(
              'oversize-event',
              `${this.peer}: an event of ${n} bytes exceeds --max-event-size ${this.options.maxEvent}: kept as plain-text pieces marked "cont"`,
            ),
          onNotEvent: () => {
            this.counters.add('EventMalformedCount')
            warnOnce(
              'not-json',
              `${this.peer}: a batch line shaped like {…} is not a JSON event: kept as the body of a plain event (counted in EventMalformedCount)`,
            )
          },
        })
        const id = frame.id
        const n = heads.length
        const bytes = payload.length
        this.counters.add('EventReceivedCount', n)
        this.counters.add('ByteReceivedCount', bytes)
        this.counters.add('BatchReceivedCount')
        if (this.agent) {
          this.agent.events += n
          this.agent.bytes += bytes
          this.agent.batches++
        }
        this.unacked++
        // the callback may be kept a while after it ran: it must not hold the batch's bytes
        this.sink.write(heads, () => this.acked(id, n, bytes))
        // the sink copied the events out in write(), or writes runs of them as they lie (sparse
        // cursors): the frame's block takes the next frame once those writes are done; the reads
        // it came in are dead, and so are the heads: a scavenge now copies almost nothing
        heads.release(() => releaseFrame(frame))
        allocatedYoungBuffer(frame.payload.length)
        this.inflated = 0
        this.account()
      }
    } finally {
      this.working = false
      this.readAheadPaused = false
      this.inflated = 0
      this.account()
      if (!this.closed && !this.stopped && !this.share?.paused) this.socket.resume()
    }
  }

  // Waits for this connection's turn in the gate to hand the sink `bytes` (at once if it is free).
  private turn(bytes: number): Promise<void> {
    const gate = this.gate!
    if (gate.admit(bytes)) return Promise.resolve()
    return new Promise<void>((resolve) => {
      this.waiting = {
        run: () => {
          this.waiting = undefined
          resolve()
          return bytes
        },
      }
      this.leaveGate = () => {
        gate.leave(this.waiting!)
        this.waiting = undefined
        resolve() // work() sees the connection closed
      }
      gate.enqueue(this.waiting)
    })
  }

  private acked(id: number, n: number, bytes: number): void {
    this.counters.add('EventAcceptedCount', n)
    this.counters.add('ByteAcceptedCount', bytes)
    if (this.agent) {
      this.agent.accepted += n
      this.agent.acceptedBytes += bytes
    }
    this.unacked--
    this.lastActive = Date.now()
    if (this.closed) return
    // one downstream ack often makes several batches durable at once: their ack frames leave in
    // one write, not one syscall (and one wake-up of the sender) each
    if (!this.acksCorked) {
      this.acksCorked = true
      this.socket.cork()
      process.nextTick(() => {
        this.acksCorked = false
        this.socket.uncork()
      })
    }
    this.socket.write(ackFrame(id, this.sendMac))
  }

  private onPlainBytes(chunk: Buffer): void {
    const heads: EventHead[] = []
    this.splitter!.push(chunk, (piece) => heads.push(classifyLine(piece.bytes, piece).head))
    if (this.splitter!.buffered) this.armReadTimer()
    else this.disarmReadTimer()
    this.account()
    if (heads.length) this.writePlain(heads)
  }

  private flushPlain(): void {
    const rest = this.splitter?.rest()
    if (rest) this.writePlain([classifyLine(rest).head])
  }

  private writePlain(heads: EventHead[]): void {
    const n = heads.length
    this.counters.add('EventReceivedCount', n)
    this.sink.write(heads, () => this.counters.add('EventAcceptedCount', n))
    if (this.gate) return // the gate waits for room for everyone
    this.socket.pause()
    void this.sink.ready().then(() => {
      if (!this.closed && !this.stopped && !this.share?.paused) this.socket.resume()
    })
  }

  private refuse(reason: string): void {
    warn(`${this.peer}: refused: ${reason}`)
    this.socket.end(refusedLine(reason))
    this.close()
  }

  // One line on stderr naming the peer; the connection goes, nothing it had not finished is emitted.
  private fail(reason: string, loud = true): void {
    if (this.closed) return
    if (loud) {
      warn(`${this.peer}: ${reason}: closing the connection`)
      this.counters.add('ConnectionFailedCount')
    }
    if (this.mode === 'frames') this.socket.end(errorFrame(reason, this.sendMac))
    else if (this.mode === 'auth' || this.mode === 'hello') this.socket.end(refusedLine(reason))
    this.close()
  }

  // The collector is full and this connection is the one to go (see TcpListeners.accept).
  evict(): void {
    this.counters.add('ConnectionEvictedCount')
    if (this.unproven)
      this.fail('closed to make room: the collector is at --max-connections and this connection had not finished its handshake')
    else this.fail('closed to make room: the collector is at --max-connections and this connection was idle', false)
  }

  private release(): void {
    this.closed = true
    if (this.waiting) this.leaveGate?.()
    this.plainReads?.drop()
    this.disarmReadTimer()
    this.endHandshake()
    this.frames = []
    this.queued = 0
    this.inflated = 0
    this.account()
    this.share?.cancel()
  }

  private close(): void {
    if (this.closed) return
    this.release()
    // let a final error line go out, but never wait long on a peer that does not read
    setTimeout(() => this.socket.destroy(), 1000).unref()
    if (this.mode !== 'frames' && this.mode !== 'auth' && this.mode !== 'hello') this.socket.destroy()
  }

  private onClose(): void {
    if (this.agent) this.roster?.disconnected(this.agent)
    if (this.mode === 'plain' && !this.closed) {
      // a read already taken from the sender is handed on even if the connection broke
      this.plainReads?.flush()
      this.flushPlain()
    }
    this.release()
  }

  // stop taking input (shutdown): acks for what we already took still go out
  stopReading(): void {
    this.stopped = true
    this.socket.pause()
    if (this.plainReads) {
      // reads taken from the sender but not yet handed on still go out before the sink ends
      this.plainReads.leave()
      this.plainReads.flush()
    }
    this.frames = []
  }

  destroy(): void {
    this.close()
    this.socket.destroy()
  }
}
