import { EventEmitter } from 'node:events'
import { connect as netConnect, type Socket } from 'node:net'
import { encodeHeader, FLAG_GZIP, FRAME_HEADER, FrameDecoder, framePieces, FrameType, type Frame } from '../../core/wire/frames.js'
import { FrameMac, MAC_NAME } from '../../core/wire/frame-mac.js'
import {
  authLine,
  clientProof,
  helloLine,
  LineReader,
  newNonce,
  parseHandshakeLine,
  proofMatches,
  serverProof,
  validNonce,
  WIRE_VERSION,
} from '../../core/wire/handshake.js'
import { gzipAsync, tls, zlib } from '../../core/lazy-builtins.js'
import type { TcpDestination } from './destination.js'
import { InFlight } from './in-flight.js'
import type { OutBatch } from './out-batch.js'

export interface ConnectionOptions {
  token?: Buffer
  // the agent name proven with the token to collectors with per-agent tokens (--agent)
  agent?: string
  gzip: boolean
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer }
  connectTimeout: number
  ackTimeout: number
}

// Why a connection ended. refused: the collector said no (token, version): retrying will not help.
export class ConnectionError extends Error {
  constructor(
    message: string,
    readonly refused = false,
  ) {
    super(message)
  }
}

// What the sink needs of a connection to one destination (a tsf collector here; a Flume avro
// source in src/sinks/flume-avro): emits 'ack' (batch), 'drain', and once 'end' (error | undefined,
// batches still unacked, in send order).
export interface SinkConnection extends EventEmitter {
  open(): Promise<void>
  send(batch: OutBatch): void
  readonly inFlight: number
  readonly needDrain: boolean
  readonly isEnded: boolean
  close(): void
  // an agent report frame, where the peer takes them (tsf collectors that said report=1)
  sendReport?(frame: Buffer): void
}

// One client connection to a collector: connect, handshake, then batches out and acks back.
// Emits 'ack' (batch) and, once, 'end' (error | undefined, batches still unacked, in send order).
export class WireConnection extends EventEmitter implements SinkConnection {
  private socket?: Socket
  private readonly inflight: InFlight
  private nextId = 1
  private gzip = false
  // the collector takes agent report frames (it said report=1)
  private reports = false
  private ended = false
  private writing: Promise<void> = Promise.resolve()
  private pendingReport?: Buffer // the newest report, waiting for the socket to drain
  private sendMac?: FrameMac

  constructor(
    readonly dest: TcpDestination,
    private readonly options: ConnectionOptions,
  ) {
    super()
    this.inflight = new InFlight(options.ackTimeout, () => this.finish(new ConnectionError(`no ack within ${options.ackTimeout} ms`)))
  }

  get isEnded(): boolean {
    return this.ended
  }

  get inFlight(): number {
    return this.inflight.size
  }

  // Connects and runs the handshake; rejects with a ConnectionError naming what went wrong.
  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const { dest, options } = this
      const socket: Socket =
        dest.kind === 'tls'
          ? tls().connect({
              host: dest.host,
              port: dest.port,
              servername: /^[\d.:]+$/.test(dest.host) ? undefined : dest.host,
              ca: options.tls?.ca,
              cert: options.tls?.cert,
              key: options.tls?.key,
            })
          : netConnect({ host: dest.host, port: dest.port })
      this.socket = socket
      socket.setNoDelay(true)
      socket.setKeepAlive(true, 30_000)
      socket.on('drain', () => {
        this.flushReport()
        this.emit('drain')
      })
      let opened = false
      const fail = (error: ConnectionError): void => {
        if (!opened) {
          opened = true
          clearTimeout(timer)
          socket.destroy()
          this.ended = true
          reject(error)
        } else this.finish(error)
      }
      const timer = setTimeout(() => fail(new ConnectionError(`no handshake within ${options.connectTimeout} ms`)), options.connectTimeout)
      const cn = newNonce()
      socket.once(dest.kind === 'tls' ? 'secureConnect' : 'connect', () => socket.write(helloLine(cn, options.gzip, true)))
      socket.on('error', (e: NodeJS.ErrnoException) => fail(new ConnectionError(describeSocketError(e))))
      socket.on('close', () => fail(new ConnectionError(opened ? 'connection closed' : 'connection closed during the handshake')))
      const lines = new LineReader()
      let step: 'challenge' | 'ok' | 'frames' = 'challenge'
      const decoder = new FrameDecoder(1024 * 1024)
      let sn = ''
      let mac = false
      socket.on('data', (chunk: Buffer) => {
        try {
          if (step === 'frames') return decoder.push(chunk, (f) => this.onFrame(f))
          lines.push(chunk)
          for (let line = lines.next(); line !== undefined && step !== 'frames'; line = lines.next()) {
            const msg = parseHandshakeLine(line)
            if (!msg) throw new ConnectionError('not a tsf collector (unexpected reply to the hello)')
            // "busy: ..." (too many connections) is worth retrying; a token or version refusal is not
            if (msg.verb === 'REFUSED')
              throw new ConnectionError(`refused us: ${msg.rest || 'no reason given'}`, !msg.rest.startsWith('busy'))
            if (msg.version !== WIRE_VERSION)
              throw new ConnectionError(`speaks protocol version ${msg.version}, we speak ${WIRE_VERSION}`, true)
            if (step === 'challenge' && msg.verb === 'CHALLENGE' && validNonce(msg.fields.nonce)) {
              sn = msg.fields.nonce
              if (msg.fields.auth === 'token' && !options.token)
                throw new ConnectionError('asks for a token and we have none (--token-file)', true)
              if (msg.fields.auth !== 'token' && options.token)
                throw new ConnectionError('does not ask for a token although we have one: not the collector we were told to trust', true)
              mac = Boolean(options.token) && msg.fields.mac === MAC_NAME
              // without TLS, frames without a MAC could be rewritten by anyone on the path
              if (options.token && !mac && dest.kind !== 'tls') {
                throw new ConnectionError('does not authenticate frames (an older tsf collect?): upgrade it, or use tls://', true)
              }
              this.gzip = options.gzip && msg.fields.compress === 'gzip'
              this.reports = msg.fields.report === '1'
              socket.write(
                authLine(options.token ? clientProof(options.token, cn, sn, { mac, agent: options.agent }) : undefined, options.agent),
              )
              step = 'ok'
            } else if (step === 'ok' && msg.verb === 'OK') {
              if (
                options.token &&
                !proofMatches(serverProof(options.token, cn, sn, { mac, agent: options.agent }), msg.fields.proof ?? '')
              ) {
                throw new ConnectionError('answered with a wrong token proof: not the collector we were told to trust', true)
              }
              if (options.token && mac) {
                decoder.authenticate(FrameMac.of(options.token, 'server', cn, sn))
                this.sendMac = FrameMac.of(options.token, 'client', cn, sn)
              }
              step = 'frames'
              opened = true
              clearTimeout(timer)
              resolve()
              const rest = lines.rest()
              if (rest.length) decoder.push(rest, (f) => this.onFrame(f))
            } else throw new ConnectionError(`unexpected handshake line '${line.slice(0, 80)}'`)
          }
        } catch (e) {
          fail(e instanceof ConnectionError ? e : new ConnectionError((e as Error).message))
        }
      })
    })
  }

  private onFrame(frame: Frame): void {
    if (frame.type === FrameType.ack) {
      const batch = this.inflight.take(frame.id)
      if (batch) this.emit('ack', batch) // else an ack for a batch we already gave up on
    } else if (frame.type === FrameType.error) {
      this.finish(new ConnectionError(`closed the connection: ${frame.payload.toString('utf8')}`))
    } else {
      this.finish(new ConnectionError('sent a frame a collector never sends'))
    }
  }

  // Sends a batch; frames go out in call order even when compression finishes out of order.
  send(batch: OutBatch): void {
    const id = this.nextId++
    if (this.nextId > 0xffffffff) this.nextId = 1
    this.inflight.add(id, batch)
    const raw = batch.payload
    if (!this.gzip) {
      this.writeFrame(encodeHeader(FrameType.batch, 0, id, batch.count, raw.length), raw)
      return
    }
    const packed = gzipAsync(raw, { level: zlib().constants.Z_BEST_SPEED })
    this.writing = this.writing.then(async () => {
      const body = await packed
      if (this.ended) return
      this.writeFrame(encodeHeader(FrameType.batch, FLAG_GZIP, id, batch.count, body.length), body)
    })
  }

  // header, payload (and MAC) in one writev, without copying the payload into a new buffer
  private writeFrame(header: Buffer, payload: Buffer): void {
    const socket = this.socket!
    socket.cork()
    for (const piece of framePieces(header, payload, this.sendMac)) socket.write(piece)
    socket.uncork()
  }

  // A report goes out only to a collector that asked for them. While the socket is backed up the
  // newest waits and goes out first when it drains, ahead of the next batch: small, and never
  // behind more than what the socket already holds (the collector takes reports as they arrive).
  sendReport(frame: Buffer): void {
    if (!this.reports || this.ended || !this.socket) return
    this.pendingReport = frame
    if (!this.socket.writableNeedDrain) this.flushReport()
  }

  private flushReport(): void {
    if (!this.pendingReport) return
    const frame = this.pendingReport
    this.pendingReport = undefined
    this.writing = this.writing.then(() => {
      // through writeFrame like a batch, so whatever the frame layer adds to every frame applies
      if (!this.ended && this.socket) this.writeFrame(frame.subarray(0, FRAME_HEADER), frame.subarray(FRAME_HEADER))
    })
  }

  get needDrain(): boolean {
    return Boolean(this.socket?.writableNeedDrain)
  }

  private finish(error?: ConnectionError): void {
    if (this.ended) return
    this.ended = true
    this.socket?.destroy()
    const unacked = this.inflight.drain()
    this.emit('end', error, unacked)
  }

  close(): void {
    this.finish()
  }
}

export const describeSocketError = (e: NodeJS.ErrnoException): string => {
  const known: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset',
    ETIMEDOUT: 'connection timed out',
    EHOSTUNREACH: 'host unreachable',
    ENETUNREACH: 'network unreachable',
    ENOTFOUND: 'host not found',
    EAI_AGAIN: 'host name lookup failed',
    EPIPE: 'connection closed',
  }
  return (e.code && known[e.code]) || e.message
}
