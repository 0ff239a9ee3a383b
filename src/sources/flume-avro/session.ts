import type { Duplex } from 'node:stream'
import type { Counters } from '../../core/metrics.js'
import { warn, warnOnce } from '../../core/log.js'
import { AvroError, AvroReader } from '../../flume-avro/avro.js'
import { decodeHandshakeRequest, encodeHandshakeResponse, HandshakeMatch, serverMatch } from '../../flume-avro/handshake.js'
import { errorAnswer, FlumeStatus, statusAnswer } from '../../flume-avro/messages.js'
import { FrameError, frameBuffers, NettyFrameDecoder, type NettyFrame } from '../../flume-avro/netty-frames.js'
import type { EventSink } from '../../core/event-sink.js'
import { BudgetShare, type MemoryBudget } from '../tcp/memory-budget.js'
import { decodeEvents } from './events.js'

export interface FlumeSessionOptions {
  maxBatchBytes: number
  readTimeout: number
}

// what an empty event costs as a head in memory, about: 64 MiB of them (2 wire bytes each) made
// collect hold 2.4 GB and growing before this bound
export const EVENT_COST = 64

const OK = statusAnswer(FlumeStatus.ok)
const FAILED = statusAnswer(FlumeStatus.failed)

// One Flume avro sink connected to us, answered as Flume's AvroSource answers it: the handshake on
// the first call, then append/appendBatch answered OK once stdout acked the events (the same promise
// as Flume's channel commit) or FAILED when we cannot take them (shutting down, or stdout a whole
// window behind, as a full channel), which makes the Flume sink keep them and retry. Calls of a
// connection are handled one at a time, in order.
export class FlumeSession {
  private readonly decoder: NettyFrameDecoder
  private readonly reader = new AvroReader()
  private frames: NettyFrame[] = []
  private handshaken = false
  private working = false
  // the handshake answer of the call being handled (its first), also owed with an error answer
  private handshakeAnswer?: Buffer
  private closed = false
  private stopped = false
  private readTimer?: NodeJS.Timeout
  // calls taken but not yet answered OK (their events not yet acked downstream)
  private unanswered = 0
  // bytes this connection holds (partial and queued frames), as counted in collect's --max-buffer
  private readonly share?: BudgetShare
  private queued = 0 // payloads of this.frames
  private handling = 0 // payload of the call being handled
  // when this connection last sent anything (for eviction when the listener is full)
  lastActive = Date.now()

  constructor(
    private readonly link: Duplex,
    private readonly peer: string,
    private readonly sink: EventSink,
    private readonly options: FlumeSessionOptions,
    private readonly counters: Counters,
    private readonly knownHashes: Set<string>,
    budget?: MemoryBudget,
  ) {
    if (budget)
      this.share = new BudgetShare(
        budget,
        counters,
        () => this.link.pause(),
        () => {
          if (!this.closed && !this.working) this.link.resume()
        },
      )
    this.decoder = new NettyFrameDecoder(options.maxBatchBytes)
    link.on('data', (chunk: Buffer) => this.onData(chunk))
    link.on('error', (e: Error) => this.fail(e.message.split('\n')[0]!, /not a deflate stream|SSL|TLS|certificate/i.test(e.message)))
    link.on('close', () => this.close())
  }

  private onData(chunk: Buffer): void {
    if (this.closed) return
    this.lastActive = Date.now()
    try {
      this.decoder.push(chunk, (f) => {
        this.frames.push(f)
        this.queued += f.payload.length
      })
    } catch (e) {
      return this.fail(
        e instanceof FrameError
          ? `${e.message} (not a Flume avro sink, or compression-type/ssl set differently on the two ends?)`
          : String(e),
      )
    }
    if (this.decoder.partial) this.armReadTimer()
    else this.disarmReadTimer()
    this.account()
    if (!this.working && this.frames.length) void this.work()
  }

  // Keeps this connection's share of --max-buffer current; past it, reading pauses until the
  // total drops (the senders wait in TCP), as on --listen: many connections each sending a large
  // frame cannot grow collect without bound.
  private account(): void {
    this.share?.update(this.closed ? 0 : this.decoder.buffered + this.queued + this.handling, this.closed)
  }

  private armReadTimer(): void {
    if (this.readTimer) return
    this.readTimer = setTimeout(
      () => this.fail(`sent no whole frame within ${this.options.readTimeout} ms (a trickling or stuck sender)`),
      this.options.readTimeout,
    )
  }

  private disarmReadTimer(): void {
    if (this.readTimer) clearTimeout(this.readTimer)
    this.readTimer = undefined
  }

  private async work(): Promise<void> {
    this.working = true
    this.link.pause()
    try {
      while (this.frames.length && !this.closed) {
        const frame = this.frames.shift()!
        this.queued -= frame.payload.length
        this.handling = frame.payload.length
        try {
          await this.call(frame)
          this.handling = 0
          this.account()
        } catch (e) {
          if (!(e instanceof AvroError)) throw e
          // Java's Responder answers an undecodable call with an error; we also close the connection
          const error = errorAnswer(`org.apache.avro.AvroRuntimeException: ${e.message}`)
          this.answer(frame.serial, this.handshakeAnswer ? [this.handshakeAnswer, error] : [error])
          return this.fail(`sent a call we cannot decode: ${e.message}`)
        }
      }
    } finally {
      this.working = false
      // while stopping, calls are still read and answered FAILED
      if (!this.closed && !this.share?.paused) this.link.resume()
    }
  }

  private async call(frame: NettyFrame): Promise<void> {
    const r = this.reader.reset(frame.payload)
    let handshake: Buffer | undefined
    this.handshakeAnswer = undefined
    if (!this.handshaken) {
      const match = serverMatch(decodeHandshakeRequest(r), this.knownHashes)
      handshake = this.handshakeAnswer = encodeHandshakeResponse(match)
      // NONE: the client resends with its protocol text; Java answers nothing else
      if (match === HandshakeMatch.none) return this.answer(frame.serial, [handshake])
      this.handshaken = true
    }
    r.skipBytesMap() // call metadata
    const name = r.string()
    const batch = name === 'appendBatch'
    if (name === '') return this.answer(frame.serial, handshake ? [handshake] : [Buffer.alloc(0)]) // a ping
    if (!batch && name !== 'append') {
      return this.answer(frame.serial, [
        ...(handshake ? [handshake] : []),
        errorAnswer(`org.apache.avro.AvroRuntimeException: No such remote message: ${name}`),
      ])
    }
    // each event counts at least EVENT_COST bytes against --max-batch-bytes
    const heads = decodeEvents(r, batch, Date.now(), Math.max(1, Math.floor(this.options.maxBatchBytes / EVENT_COST)))
    const n = heads.length
    this.counters.add(batch ? 'AppendBatchReceivedCount' : 'AppendReceivedCount')
    this.counters.add('EventReceivedCount', n)
    const parts = handshake ? [handshake] : []
    if (this.stopped) {
      // shutting down: the Flume sink keeps the events and retries (elsewhere, with failover)
      return this.answer(frame.serial, [...parts, FAILED])
    }
    if (n && this.sink.full) {
      // stdout is a whole window behind, as a Flume channel is full: the sink keeps the events and
      // retries after its back-off, instead of timing out on a call we hold and sending it again
      this.counters.add('ChannelWriteFail')
      warnOnce('flume-full', 'stdout is a whole window behind: Flume calls are answered FAILED until it catches up (said once)')
      return this.answer(frame.serial, [...parts, FAILED])
    }
    if (n === 0) return this.answer(frame.serial, [...parts, OK])
    const serial = frame.serial
    this.unanswered++
    // the callback may be kept a while after it ran: it must not hold the frame's bytes
    this.sink.write(heads, () => {
      this.unanswered--
      this.counters.add('EventAcceptedCount', n)
      this.counters.add(batch ? 'AppendBatchAcceptedCount' : 'AppendAcceptedCount')
      this.answer(serial, [...parts, OK])
    })
    await this.sink.ready()
  }

  private answer(serial: number, parts: Buffer[]): void {
    if (this.closed) return
    const link = this.link
    link.cork()
    for (const b of frameBuffers(serial, parts)) link.write(b)
    link.uncork()
  }

  private fail(reason: string, loud = true): void {
    if (this.closed) return
    if (loud) {
      warn(`flume-avro ${this.peer}: ${reason}: closing the connection`)
      this.counters.add('ConnectionFailedCount')
    }
    this.close()
    // let a last answer go out, but never wait long on a peer that does not read
    setTimeout(() => this.link.destroy(), 1000).unref()
    this.link.end()
  }

  private close(): void {
    this.closed = true
    this.disarmReadTimer()
    this.frames = []
    this.queued = 0
    this.handling = 0
    this.account()
    this.share?.cancel()
  }

  // Not handshaken yet: nothing of it was taken, so closing it for a new connection loses nothing.
  get unproven(): boolean {
    return !this.handshaken
  }

  // Nothing in flight: no call being read, queued or waiting for its events' ack.
  get idle(): boolean {
    return !this.working && this.frames.length === 0 && this.unanswered === 0 && !this.decoder.partial
  }

  // Closed to make room for a new connection (the listener is full): a Flume sink reconnects.
  evict(): void {
    this.counters.add('ConnectionEvictedCount')
    this.close()
    this.link.destroy()
  }

  // shutdown: calls not yet taken, and later ones, are answered FAILED; acks for what we took still go out
  stopReading(): void {
    this.stopped = true
    if (this.handshaken) for (const f of this.frames) this.answer(f.serial, [FAILED])
    this.frames = []
    this.queued = 0
    this.account()
  }

  destroy(): void {
    this.close()
    this.link.destroy()
  }
}
