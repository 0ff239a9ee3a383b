import { createServer, type Socket } from 'node:net'
import type { Counters } from '../../core/metrics.js'
import { info } from '../../core/log.js'
import { serverLink } from '../../flume-avro/layers.js'
import type { EventSink } from '../../core/event-sink.js'
import type { MemoryBudget } from '../tcp/memory-budget.js'
import { ConnectionTable } from '../tcp/connection-table.js'
import { listenOn } from '../tcp/listen.js'
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
      await listenOn(server, () => server.listen({ host: a.host, port: a.port, backlog: 1024 }), `--flume-avro ${a.host}:${a.port}`)
      this.sessions.listening(server)
      const b = server.address() as { address: string; port: number }
      const layers = [this.options.tls ? 'ssl' : '', this.options.deflate ? 'deflate' : ''].filter(Boolean).join(', ')
      info(`flume-avro listening on ${b.address.includes(':') ? `[${b.address}]` : b.address}:${b.port}${layers ? ` (${layers})` : ''}`)
    }
  }

  private accept(socket: Socket): void {
    if (!this.sessions.admit('flume-max-connections', 'Flume connections')) {
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
    this.sessions.stop()
  }

  close(): void {
    this.sessions.close()
  }
}
