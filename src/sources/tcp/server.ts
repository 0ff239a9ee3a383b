import { createServer as createNetServer, type Server, type Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import { tls as tlsModule } from '../../core/lazy-builtins.js'
import type { Counters } from '../../core/metrics.js'
import { info, warn } from '../../core/log.js'
import { refusedLine } from '../../core/wire/handshake.js'
import type { EventSink } from '../../core/event-sink.js'
import { Agents } from './agents.js'
import { ConnectionTable } from './connection-table.js'
import { listenOn } from './listen.js'
import { MemoryBudget } from './memory-budget.js'
import { ReadGate } from './read-gate.js'
import { Session, type SessionOptions } from './session.js'

export interface ListenerOptions extends SessionOptions {
  listen: { host: string; port: number }[]
  maxConnections: number
  // bytes all connections may hold at once before reads pause
  maxBuffer: number
}

const isLoopback = (host: string): boolean => host === 'localhost' || host === '::1' || host.startsWith('127.')

// The collector's TCP listeners: sessions for every accepted connection, bounded in number.
export class TcpListeners {
  private readonly sessions: ConnectionTable<Session>
  // --max-buffer: also bounds the Flume listeners' connections (collect.ts hands it over)
  readonly budget: MemoryBudget
  // who is connected and how they are doing (collect's "agents" metrics, for tsf top)
  private readonly roster: Agents
  // one wait for room downstream for all sessions, who then take turns
  private readonly gate: ReadGate

  constructor(
    private readonly options: ListenerOptions,
    private readonly sink: EventSink,
    private readonly counters: Counters,
  ) {
    this.sessions = new ConnectionTable(options.maxConnections, counters)
    counters.gauge('OpenConnectionCount', () => this.sessions.size)
    // one batch of the largest size must always fit
    this.budget = new MemoryBudget(Math.max(options.maxBuffer, options.maxBatchBytes))
    counters.gauge('BufferedBytes', () => this.budget.held)
    this.roster = new Agents(counters)
    this.gate = new ReadGate(sink)
  }

  // bytes of reads taken from --plain senders and held until their turn (tests; the gate's)
  get held(): number {
    return this.gate.held
  }

  // the ports listened on (port 0 picks one; tests)
  readonly ports: number[] = []

  // tsf connections open now
  get open(): number {
    return this.sessions.size
  }

  async start(): Promise<void> {
    const { options } = this
    for (const address of options.listen) {
      const tls = options.tls
      const server: Server = tls
        ? tlsModule().createServer(
            { cert: tls.cert, key: tls.key, ca: tls.ca, requestCert: Boolean(tls.ca), rejectUnauthorized: Boolean(tls.ca) },
            (s) => this.accept(s),
          )
        : createNetServer((s) => this.accept(s))
      if (tls) {
        server.on('tlsClientError', (e: Error, s: TLSSocket) => {
          this.counters.add('ConnectionFailedCount')
          warn(`${s.remoteAddress ?? '?'}:${s.remotePort ?? '?'}: TLS handshake failed: ${e.message.split('\n')[0]}`)
        })
      }
      const at = `${address.host}:${address.port}`
      await listenOn(server, () => server.listen({ host: address.host, port: address.port }), `--listen ${at}`, `listener ${at}`)
      this.sessions.listening(server)
      const bound = server.address() as { address: string; port: number }
      this.ports.push(bound.port)
      info(`listening on ${tls ? 'tls://' : ''}${bound.address.includes(':') ? `[${bound.address}]` : bound.address}:${bound.port}`)
      if (!isLoopback(address.host) && !options.token && !options.agents && !tls?.ca) {
        warn(
          `${address.host}:${bound.port} is reachable beyond this machine and anyone who can reach it may send events: consider --agent-tokens, --token-file or --tls-ca`,
        )
      } else if (!isLoopback(address.host) && (options.token || options.agents) && !tls) {
        warn(
          `${address.host}:${bound.port}: batches are authenticated by the token but travel in clear text: anyone on the path can read them (use --tls-cert and --tls-key to hide them; see docs/security.md)`,
        )
      }
    }
  }

  private accept(socket: Socket): void {
    if (!this.sessions.admit('max-connections', 'connections')) {
      socket.on('error', () => socket.destroy())
      socket.end(refusedLine('busy: too many connections'))
      setTimeout(() => socket.destroy(), 1000).unref()
      return
    }
    const session = new Session(socket, this.sink, this.options, this.counters, this.budget, this.roster, this.gate)
    this.sessions.track(socket, session)
  }

  // Stop accepting and reading; sessions stay open so acks for what we took still reach senders.
  stop(): void {
    this.sessions.stop()
  }

  close(): void {
    this.sessions.close()
  }
}
