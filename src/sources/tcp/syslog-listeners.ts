import { createSocket, type Socket as UdpSocket } from 'node:dgram'
import { createServer, type Server, type Socket } from 'node:net'
import { allocatedYoungBuffer } from '../../core/buffer-gc.js'
import type { Counters } from '../../core/metrics.js'
import { info, warn, warnOnce } from '../../core/log.js'
import { DEFAULT_MAX_FRAME, FrameList, SyslogTcpFramer, type SyslogFrame } from '../syslog/framing.js'
import { SyslogBlock, syslogHeads } from '../syslog/heads.js'
import type { EventSink } from '../../core/event-sink.js'
import { listenOn } from './listen.js'
import { GatedReads } from './gated-reads.js'
import { ReadGate } from './read-gate.js'
import { holdReads } from './socket-reads.js'
import type { SyslogAddress } from './syslog-address.js'

export { parseSyslogAddress, type SyslogAddress } from './syslog-address.js'

// a TCP sender, its reads in its listener's gate
interface SyslogConnection {
  readonly socket: Socket
  readonly reads: GatedReads
}

// --syslog tcp://HOST:PORT | udp://HOST:PORT: syslog senders (logger, rsyslog, appliances) into
// events, parsed by src/sources/syslog. Syslog has no acks: TCP senders are slowed down by back
// pressure, UDP is best effort by nature (docs/collect.md).

export interface SyslogOptions {
  addresses: SyslogAddress[]
  maxEvent: number
  maxConnections: number
  idleTimeout: number
}

// The heads themselves: src/sources/syslog/heads.ts (a block per read, rendered into stdout's buffer).
export { syslogHeads } from '../syslog/heads.js'

export class SyslogListeners {
  private readonly servers: Server[] = []
  private readonly udp: UdpSocket[] = []
  private readonly connections = new Set<SyslogConnection>()
  private stopped = false
  // one wait for room downstream for all TCP senders, who then take turns
  private readonly gate: ReadGate

  constructor(
    private readonly options: SyslogOptions,
    private readonly sink: EventSink,
    private readonly counters: Counters,
  ) {
    this.gate = new ReadGate(sink)
  }

  // TCP senders waiting for their turn to be read (tests; the gate's queue)
  get waiting(): number {
    return this.gate.waiting
  }

  // bytes of reads taken from TCP senders and held until their turn (tests; the gate's)
  get held(): number {
    return this.gate.held
  }

  // the TCP ports listened on (port 0 picks one)
  get tcpPorts(): number[] {
    return this.servers.map((s) => (s.address() as { port: number }).port)
  }

  async start(): Promise<void> {
    for (const a of this.options.addresses) {
      const where = `--syslog ${a.proto}://${a.host}:${a.port}`
      if (a.proto === 'tcp') {
        // a new connection reads nothing until accept() lets it (at once, or on its turn in the gate)
        const server = createServer({ pauseOnConnect: true }, (s) => this.accept(s, where))
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
    if (this.connections.size >= this.options.maxConnections) {
      warnOnce(
        'syslog-max-connections',
        `more than --max-connections ${this.options.maxConnections} syslog connections: refusing new ones until some close (said once)`,
      )
      socket.destroy()
      return
    }
    const peer = socket.remoteAddress ?? '?'
    const framer = new SyslogTcpFramer({ maxFrame: this.maxFrame })
    socket.setTimeout(this.options.idleTimeout, () => socket.destroy())
    socket.on('error', () => socket.destroy())
    // one list and one block per connection, reused for every read: the sink renders the block
    // during write(), so the frames (views of the read) are free again right after it
    const frames = new FrameList()
    const block = new SyslogBlock(peer)
    const emit = (): void => {
      const n = frames.count
      if (!n) return
      for (let k = 0; k < n; k++)
        if (frames.truncated[k]) {
          this.truncated(where, peer)
          break
        }
      this.counters.add('EventReceivedCount', n)
      this.sink.write(block.of(frames, Date.now()), () => this.counters.add('EventAcceptedCount', n))
      frames.clear()
    }
    let saidBadCount = false
    const take = (chunk: Buffer): void => {
      framer.pushInto(chunk, frames)
      if (framer.badCount && !saidBadCount) {
        saidBadCount = true
        warn(
          `${where}: ${peer}:${socket.remotePort} sent an octet count of ${framer.badCount}, more than the longest message kept (${this.maxFrame} bytes): that message was read to its newline instead, and what follows as usual (said once per connection)`,
        )
      }
      emit()
      // the read is dead once rendered: a scavenge now and then frees such reads (not the window)
      allocatedYoungBuffer(chunk.length)
    }
    // A sender faster than our stdout waits in TCP, not in our memory: while the gate is busy the
    // connection waits in its line with its socket held, and is let in for one read at a time.
    const reads = new GatedReads(socket, this.gate, take, () => this.stopped)
    const connection: SyslogConnection = { socket, reads }
    this.connections.add(connection)
    socket.on('data', (chunk: Buffer) => reads.onData(chunk))
    reads.start()
    socket.on('end', () => {
      // node says 'end' even while paused (its buffer is empty): the held read comes before it
      reads.leave()
      reads.flush()
      framer.endInto(frames)
      emit()
    })
    socket.on('close', () => {
      // a read already taken from the sender is handed on even if the connection broke
      reads.leave()
      reads.flush()
      this.connections.delete(connection)
    })
  }

  stop(): void {
    // once: close() stops too, and a UDP socket closed twice throws (collect exited 1 on SIGTERM)
    if (!this.stopped) {
      for (const s of this.servers) s.close()
      for (const u of this.udp) u.close()
    }
    this.stopped = true
    this.gate.stop()
    for (const c of this.connections) {
      holdReads(c.socket)
      // reads taken from senders but not yet handed on still go out before the sink ends
      c.reads.leave()
      c.reads.flush()
    }
  }

  close(): void {
    this.stop()
    for (const c of this.connections) c.socket.destroy()
  }
}
