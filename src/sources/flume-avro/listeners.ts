import { once } from 'node:events'
import { createServer, type Server, type Socket } from 'node:net'
import { TsfError, describeSystemError } from '../../core/errors.js'
import type { Counters } from '../../core/metrics.js'
import { info, warn, warnOnce } from '../../core/log.js'
import { serverLink } from '../../flume-avro/layers.js'
import type { EventSink } from '../tcp/event-sink.js'
import type { MemoryBudget } from '../tcp/memory-budget.js'
import { ConnectionTable } from '../tcp/connection-table.js'
import { FlumeSession, type FlumeSessionOptions } from './session.js'

export interface FlumeAvroOptions extends FlumeSessionOptions {
  addresses: { host: string; port: number }[]
  // compression-type = deflate on the Flume sinks
  deflate: boolean
  // ssl = true on the Flume sinks
  tls?: { cert: Buffer; key: Buffer }
  maxConnections: number
  idleTimeout: number
}

// --flume-avro HOST:PORT: what Flume's avro source is to Flume's avro sinks (and to its RpcClient).
export class FlumeAvroListeners {
  private readonly servers: Server[] = []
  private readonly sessions: ConnectionTable<FlumeSession>
  // client protocol hashes whose text a client sent (Java's Responder caches them per server)
  private readonly knownHashes = new Set<string>()

  constructor(
    private readonly options: FlumeAvroOptions,
    private readonly sink: EventSink,
    private readonly counters: Counters,
    // collect's --max-buffer, shared with the tsf listeners
    private readonly budget?: MemoryBudget,
  ) {
    this.sessions = new ConnectionTable(options.maxConnections, counters)
  }

  async start(): Promise<void> {
    for (const a of this.options.addresses) {
      const server = createServer((s) => this.accept(s))
      server.listen({ host: a.host, port: a.port, backlog: 1024 })
      try {
        await Promise.race([once(server, 'listening'), once(server, 'error').then(([e]) => Promise.reject(e))])
      } catch (e) {
        const err = e as NodeJS.ErrnoException
        throw new TsfError(
          `--flume-avro ${a.host}:${a.port}: ${describeSystemError(typeof err?.code === 'string' ? Object.assign(new Error(err.message), { code: err.code }) : e)}`,
        )
      }
      server.on('error', (e) => warn(`--flume-avro ${a.host}:${a.port}: ${describeSystemError(e)}`))
      this.servers.push(server)
      const b = server.address() as { address: string; port: number }
      const layers = [this.options.tls ? 'ssl' : '', this.options.deflate ? 'deflate' : ''].filter(Boolean).join(', ')
      info(`flume-avro listening on ${b.address.includes(':') ? `[${b.address}]` : b.address}:${b.port}${layers ? ` (${layers})` : ''}`)
    }
  }

  private accept(socket: Socket): void {
    this.counters.add('ConnectionCreatedCount')
    // full: a connection that never handshook (silent or stuck, oldest first) or one idle for a
    // while makes room, so silent sockets cannot lock the senders out
    if (!this.sessions.makeRoom()) {
      warnOnce(
        'flume-max-connections',
        `more than --max-connections ${this.options.maxConnections} Flume connections: refusing new ones until some close (said once)`,
      )
      this.counters.add('ConnectionRefusedCount')
      socket.destroy()
      return
    }
    const peer = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? '?'}`
    socket.setNoDelay(true)
    socket.setKeepAlive(true, 30_000)
    socket.setTimeout(this.options.idleTimeout, () => socket.destroy())
    socket.on('error', () => socket.destroy())
    const link = serverLink(socket, { deflate: this.options.deflate, tls: this.options.tls })
    const session = new FlumeSession(link, peer, this.sink, this.options, this.counters, this.knownHashes, this.budget)
    this.sessions.track(socket, session)
  }

  // Flume connections open now
  get open(): number {
    return this.sessions.size
  }

  // stop accepting; open connections stay so acks for what we took still reach the Flume sinks
  stop(): void {
    for (const s of this.servers) s.close()
    this.sessions.stopReading()
  }

  close(): void {
    this.stop()
    this.sessions.destroy()
  }
}
