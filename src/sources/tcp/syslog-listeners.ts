import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { createServer, type Server, type Socket } from 'node:net'
import { UsageError } from '../../core/errors.js'
import { bodyFieldsBound, quotedBound, writeBodyFields, writeQuoted } from '../../core/json-bytes.js'
import type { Counters } from '../../core/metrics.js'
import { info, warnOnce } from '../../core/log.js'
import { parseHostPort } from '../../core/units.js'
import { DEFAULT_MAX_FRAME, SyslogTcpFramer, type SyslogFrame } from '../syslog/framing.js'
import { parseSyslog } from '../syslog/parse.js'
import type { EventSink } from './event-sink.js'
import { listenOn } from './listen.js'

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

// Syslog messages → event heads: body from MSG, ts from its timestamp, host from its HOSTNAME
// (else the sender's address), every parsed field as a header:
// {"body":"...","ts":T,"host":"H","headers":{...}[,"truncated":true]
// The heads of one read are written as bytes into one buffer (views of it, no string per event):
// the same bytes as JSON.stringify would make (test/sources/tcp/syslog-listeners.test.ts).
const TS = Buffer.from(',"ts":')
const HOST = Buffer.from(',"host":')
const HEADERS = Buffer.from(',"headers":{')
const TRUNCATED = Buffer.from(',"truncated":true')

export const syslogHeads = (frames: readonly SyslogFrame[], peer: string, receivedAt: number): Buffer[] => {
  const records = frames.map((f) => parseSyslog(f.msg, { receivedAt }))
  let bound = 0
  for (const r of records) {
    bound += bodyFieldsBound(r.body.length) + 80 + quotedBound(r.headers.host ?? peer)
    const headers = r.headers
    for (const k in headers) bound += quotedBound(k) + quotedBound(headers[k]!) + 2
  }
  const out = Buffer.allocUnsafe(bound)
  const heads: Buffer[] = new Array(records.length)
  let at = 0
  for (let n = 0; n < records.length; n++) {
    const r = records[n]!
    const start = at
    out[at++] = 0x7b
    at = writeBodyFields(r.body, out, at)
    out.set(TS, at)
    at += TS.length
    at += out.write(String(r.ts), at, 'latin1')
    out.set(HOST, at)
    at = writeQuoted(r.headers.host ?? peer, out, at + HOST.length)
    out.set(HEADERS, at)
    at += HEADERS.length
    const headers = r.headers
    let first = true
    for (const k in headers) {
      if (!first) out[at++] = 0x2c
      first = false
      at = writeQuoted(k, out, at)
      out[at++] = 0x3a
      at = writeQuoted(String(headers[k]), out, at)
    }
    out[at++] = 0x7d
    if (frames[n]!.truncated) {
      out.set(TRUNCATED, at)
      at += TRUNCATED.length
    }
    heads[n] = out.subarray(start, at)
  }
  return heads
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
      if (a.proto === 'tcp') {
        const server = createServer((s) => this.accept(s, where))
        await listenOn(server, () => server.listen({ host: a.host, port: a.port }), where)
        this.servers.push(server)
        const b = server.address() as { address: string; port: number }
        info(`syslog listening on tcp://${b.address}:${b.port}`)
      } else {
        const socket = createSocket(a.host.includes(':') ? 'udp6' : 'udp4')
        await listenOn(socket, () => socket.bind(a.port, a.host), where)
        socket.on('message', (msg, rinfo) => this.onDatagram(msg, rinfo.address, where))
        this.udp.push(socket)
        const b = socket.address()
        info(`syslog listening on udp://${b.address}:${b.port}`)
      }
    }
  }

  private onDatagram(msg: Buffer, address: string, where: string): void {
    if (this.stopped) return
    const frame: SyslogFrame = msg.length > this.maxFrame ? { msg: msg.subarray(0, this.maxFrame), truncated: true } : { msg }
    if (frame.truncated) this.truncated(where, address)
    this.counters.add('EventReceivedCount')
    this.sink.write(syslogHeads([frame], address, Date.now()), () => this.counters.add('EventAcceptedCount'))
  }

  private get maxFrame(): number {
    return Math.min(this.options.maxEvent, DEFAULT_MAX_FRAME)
  }

  // A message longer than we keep was cut: said once, naming the listener and the sender.
  private truncated(where: string, peer: string): void {
    warnOnce(
      'syslog-truncated',
      `${where}: a message from ${peer} longer than ${this.maxFrame} bytes was truncated to its first ${this.maxFrame} bytes, flagged "truncated" (said once)`,
    )
  }

  private accept(socket: Socket, where: string): void {
    if (this.sockets.size >= this.options.maxConnections) {
      warnOnce(
        'syslog-max-connections',
        `more than --max-connections ${this.options.maxConnections} syslog connections: refusing new ones until some close (said once)`,
      )
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
      if (frames.some((f) => f.truncated)) this.truncated(where, peer)
      const heads = syslogHeads(frames, peer, Date.now())
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
    // once: close() stops too, and a UDP socket closed twice throws (collect exited 1 on SIGTERM)
    if (!this.stopped) {
      for (const s of this.servers) s.close()
      for (const u of this.udp) u.close()
    }
    this.stopped = true
    for (const s of this.sockets) s.pause()
  }

  close(): void {
    this.stop()
    for (const s of this.sockets) s.destroy()
  }
}
