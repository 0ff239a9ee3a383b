import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { once } from 'node:events'
import { createServer, type Server, type Socket } from 'node:net'
import { TsfError, UsageError, describeSystemError } from '../../core/errors.js'
import { bodyFields } from '../../core/event.js'
import { encodeHeaders, quote } from '../../core/json-string.js'
import type { Counters } from '../../core/metrics.js'
import { info, warn, warnOnce } from '../../core/log.js'
import { parseHostPort } from '../../core/units.js'
import { DEFAULT_MAX_FRAME, SyslogTcpFramer, type SyslogFrame } from '../syslog/framing.js'
import { parseSyslog } from '../syslog/parse.js'
import type { EventSink } from './event-sink.js'

// --syslog tcp://HOST:PORT | udp://HOST:PORT: syslog senders (logger, rsyslog, appliances) into
// events, parsed by src/sources/syslog. Syslog has no acks: TCP senders are slowed down by back
// pressure, UDP is best effort by nature (docs/collect.md).

export interface SyslogAddress {
  proto: 'tcp' | 'udp'
  host: string
  port: number
}

export const parseSyslogAddress = (text: string): SyslogAddress => {
  const m = /^(tcp|udp):\/\/(.+)$/i.exec(text.trim())
  if (!m) throw new UsageError(`--syslog: expected tcp://HOST:PORT or udp://HOST:PORT, got '${text}'`)
  return { proto: m[1]!.toLowerCase() as 'tcp' | 'udp', ...parseHostPort(m[2]!, '--syslog') }
}

export interface SyslogOptions {
  addresses: SyslogAddress[]
  maxEvent: number
  maxConnections: number
  idleTimeout: number
}

// One syslog message → an event head: body from MSG, ts from its timestamp, host from its
// HOSTNAME (else the sender's address), every parsed field as a header.
export const syslogEventHead = (frame: SyslogFrame, peer: string, receivedAt: number): string => {
  const record = parseSyslog(frame.msg, { receivedAt })
  const host = record.headers.host ?? peer
  let head = `{${bodyFields(record.body)},"ts":${record.ts},"host":${quote(host)},"headers":${encodeHeaders(record.headers)}`
  if (frame.truncated) head += ',"truncated":true'
  return head
}

export class SyslogListeners {
  private readonly servers: Server[] = []
  private readonly udp: UdpSocket[] = []
  private readonly sockets = new Set<Socket>()
  private stopped = false

  constructor(
    private readonly options: SyslogOptions,
    private readonly sink: EventSink,
    private readonly counters: Counters,
  ) {}

  async start(): Promise<void> {
    for (const a of this.options.addresses) {
      const where = `--syslog ${a.proto}://${a.host}:${a.port}`
      try {
        if (a.proto === 'tcp') {
          const server = createServer((s) => this.accept(s))
          server.listen({ host: a.host, port: a.port })
          await Promise.race([once(server, 'listening'), once(server, 'error').then(([e]) => Promise.reject(e))])
          server.on('error', (e) => warn(`${where}: ${describeSystemError(e)}`))
          this.servers.push(server)
          const b = server.address() as { address: string; port: number }
          info(`syslog listening on tcp://${b.address}:${b.port}`)
        } else {
          const socket = createSocket(a.host.includes(':') ? 'udp6' : 'udp4')
          socket.bind(a.port, a.host)
          await Promise.race([once(socket, 'listening'), once(socket, 'error').then(([e]) => Promise.reject(e))])
          socket.on('error', (e) => warn(`${where}: ${describeSystemError(e)}`))
          socket.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo.address))
          this.udp.push(socket)
          const b = socket.address()
          info(`syslog listening on udp://${b.address}:${b.port}`)
        }
      } catch (e) {
        const err = e as NodeJS.ErrnoException
        throw new TsfError(`${where}: ${describeSystemError(typeof err?.code === 'string' ? Object.assign(new Error(err.message), { code: err.code }) : e)}`)
      }
    }
  }

  private onDatagram(msg: Buffer, address: string): void {
    if (this.stopped) return
    const frame: SyslogFrame = msg.length > this.maxFrame ? { msg: msg.subarray(0, this.maxFrame), truncated: true } : { msg }
    this.counters.add('EventReceivedCount')
    this.sink.write([syslogEventHead(frame, address, Date.now())], () => this.counters.add('EventAcceptedCount'))
  }

  private get maxFrame(): number {
    return Math.min(this.options.maxEvent, DEFAULT_MAX_FRAME)
  }

  private accept(socket: Socket): void {
    if (this.sockets.size >= this.options.maxConnections) {
      warnOnce('syslog-max-connections', `more than --max-connections ${this.options.maxConnections} syslog connections: refusing new ones until some close (said once)`)
      socket.destroy()
      return
    }
    this.sockets.add(socket)
    const peer = socket.remoteAddress ?? '?'
    const framer = new SyslogTcpFramer({ maxFrame: this.maxFrame })
    socket.setTimeout(this.options.idleTimeout, () => socket.destroy())
    socket.on('error', () => socket.destroy())
    const emit = (frames: SyslogFrame[]): void => {
      if (!frames.length) return
      const now = Date.now()
      const heads = frames.map((f) => syslogEventHead(f, peer, now))
      const n = heads.length
      this.counters.add('EventReceivedCount', n)
      this.sink.write(heads, () => this.counters.add('EventAcceptedCount', n))
      // a sender faster than our stdout waits in TCP, not in our memory
      socket.pause()
      void this.sink.ready().then(() => {
        if (!this.stopped) socket.resume()
      })
    }
    socket.on('data', (chunk: Buffer) => emit(framer.push(chunk)))
    socket.on('end', () => emit(framer.end()))
    socket.on('close', () => this.sockets.delete(socket))
  }

  stop(): void {
    this.stopped = true
    for (const s of this.servers) s.close()
    for (const u of this.udp) u.close()
    for (const s of this.sockets) s.pause()
  }

  close(): void {
    this.stop()
    for (const s of this.sockets) s.destroy()
  }
}
