import { EventEmitter } from 'node:events'
import { connect as netConnect, type Socket } from 'node:net'
import type { Duplex } from 'node:stream'
import { AvroError, AvroReader } from '../../flume-avro/avro.js'
import { decodeHandshakeResponse, encodeHandshakeRequest, HandshakeMatch } from '../../flume-avro/handshake.js'
import { clientLink } from '../../flume-avro/layers.js'
import { APPEND_BATCH_HEAD, callHead, decodeAnswer, FlumeStatus, STATUS_NAMES } from '../../flume-avro/messages.js'
import { FrameError, frameBuffers, NettyFrameDecoder, type NettyFrame } from '../../flume-avro/netty-frames.js'
import { ConnectionError, describeSocketError, type SinkConnection } from '../tcp/connection.js'
import type { TcpDestination } from '../tcp/destination.js'
import { InFlight } from '../tcp/in-flight.js'
import type { OutBatch } from '../tcp/out-batch.js'

export interface FlumeConnectionOptions {
  deflate: boolean
  // compression-level of the deflate stream (Flume's default 6)
  level?: number
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer }
  connectTimeout: number
  ackTimeout: number
}

const PING = callHead('')

// One connection to a Flume avro source, behaving as Flume's avro sink: connect, handshake (a ping
// carrying Flume 1.11.0's protocol hash; the text only if the source answers NONE), then
// appendBatch calls, each answered OK (the source committed the batch to its channel) or not.
// Anything but OK, an error, or no answer within the ack timeout ends the connection: the sink
// re-sends the batch on a new one, as Flume's sink does. Answers are matched by serial.
export class FlumeConnection extends EventEmitter implements SinkConnection {
  private socket?: Socket
  private link?: Duplex
  private readonly inflight: InFlight
  private readonly reader = new AvroReader()
  private nextSerial = 1
  private ended = false

  constructor(
    readonly dest: TcpDestination,
    private readonly options: FlumeConnectionOptions,
  ) {
    super()
    this.inflight = new InFlight(options.ackTimeout, () => this.finish(new ConnectionError(`no answer within ${options.ackTimeout} ms`)))
  }

  get isEnded(): boolean {
    return this.ended
  }

  get inFlight(): number {
    return this.inflight.size
  }

  get needDrain(): boolean {
    return Boolean(this.link?.writableNeedDrain)
  }

  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      const { dest, options } = this
      const socket = netConnect({ host: dest.host, port: dest.port })
      this.socket = socket
      socket.setNoDelay(true)
      socket.setKeepAlive(true, 30_000)
      const { link, readyEvent } = clientLink(socket, {
        deflate: options.deflate,
        level: options.level,
        tls: dest.kind === 'tls' ? (options.tls ?? {}) : undefined,
        servername: /^[\d.:]+$/.test(dest.host) ? undefined : dest.host,
      })
      this.link = link
      let opened = false
      const fail = (error: ConnectionError): void => {
        if (!opened) {
          opened = true
          clearTimeout(timer)
          link.destroy()
          socket.destroy()
          this.ended = true
          reject(error)
        } else this.finish(error)
      }
      const timer = setTimeout(() => fail(new ConnectionError(`no handshake within ${options.connectTimeout} ms`)), options.connectTimeout)
      link.on('drain', () => this.emit('drain'))
      link.on('error', (e: NodeJS.ErrnoException) => fail(new ConnectionError(describeSocketError(e))))
      socket.on('error', (e: NodeJS.ErrnoException) => fail(new ConnectionError(describeSocketError(e))))
      link.on('close', () => fail(new ConnectionError(opened ? 'connection closed' : 'connection closed during the handshake')))
      socket.on('close', () => fail(new ConnectionError(opened ? 'connection closed' : 'connection closed during the handshake')))
      ;(readyEvent === 'connect' ? socket : link).once(readyEvent, () => this.write(0, [encodeHandshakeRequest(false), PING]))
      const decoder = new NettyFrameDecoder(64 * 1024 * 1024)
      let handshaken = false
      link.on('data', (chunk: Buffer) => {
        try {
          decoder.push(chunk, (frame) => {
            if (handshaken) return this.onAnswer(frame)
            const r = this.reader.reset(frame.payload)
            const hs = decodeHandshakeResponse(r)
            // NONE: the source does not know Flume 1.11.0's hash; send the protocol text once
            if (hs.match === HandshakeMatch.none) return this.write(0, [encodeHandshakeRequest(true), PING])
            handshaken = true
            opened = true
            clearTimeout(timer)
            resolve()
          })
        } catch (e) {
          const why =
            e instanceof FrameError || e instanceof AvroError
              ? `not a Flume avro source, or compression/ssl set differently on the two ends (${e.message})`
              : (e as Error).message
          fail(new ConnectionError(why))
        }
      })
    })
  }

  private onAnswer(frame: NettyFrame): void {
    if (!this.inflight.has(frame.serial)) return // an answer to a call we already gave up on
    const answer = decodeAnswer(this.reader.reset(frame.payload))
    if ('error' in answer) return this.finish(new ConnectionError(`answered with an error: ${answer.error.slice(0, 300)}`))
    if (answer.status !== FlumeStatus.ok) {
      return this.finish(
        new ConnectionError(`answered ${STATUS_NAMES[answer.status]} (its channel did not take the batch: full, or failing)`),
      )
    }
    this.emit('ack', this.inflight.take(frame.serial)!)
  }

  send(batch: OutBatch): void {
    const serial = this.nextSerial++
    if (this.nextSerial > 0x7fffffff) this.nextSerial = 1
    this.inflight.add(serial, batch)
    this.write(serial, [APPEND_BATCH_HEAD, batch.payload])
  }

  // frame head, lengths and parts in one writev, the payload not copied
  private write(serial: number, parts: Buffer[]): void {
    const link = this.link!
    link.cork()
    for (const b of frameBuffers(serial, parts)) link.write(b)
    link.uncork()
  }

  private finish(error?: ConnectionError): void {
    if (this.ended) return
    this.ended = true
    this.link?.destroy()
    this.socket?.destroy()
    const unacked = this.inflight.drain()
    this.emit('end', error, unacked)
  }

  close(): void {
    this.finish()
  }
}
