import { connect, createServer, type Server, type Socket } from 'node:net'
import { once } from 'node:events'
import split2 from 'split2'
import { readerAnnouncePath, socketPath } from './cursor.js'
import { ackPattern, helloPattern, SPARSE, tellMaxLine, windowPattern } from './protocol.js'

// What the link server needs of its writer.
export interface LinkHost {
  // the secret a reader proves it read from our cursors (HELLO)
  readonly nonce: string
  // the longest line we may write whole (MAXLINE): a reader frames our lines by at least that
  maxLine(): number
  // the inode of our stdout pipe to tell a reader (its lines reach it unfiltered), or -1
  pipeFor(): number
  // the end to tell a reader that links up (once the input is done), else undefined
  endOnLink(): string | undefined
  // the same for our connection to the reader's announce socket, once the end was sent
  endOnWatch(): string | undefined
  // a reader proved itself and is linked
  linked(): void
  // a linked reader acked up to this position
  acked(position: number): void
  // a linked reader asked for this window
  askedWindow(window: number): void
  // a directly linked reader counts our lines (SPARSE): cursors may be sparse
  sparse(): void
  // the last linked reader went away
  lost(): void
  // the reader we introduced ourselves to closed that connection while no reader was linked (it
  // died before it linked up, or before our introduction was even read)
  readerGone(): void
}

// The writer's side of the ack link (docs/protocol.md): the socket linked readers connect to
// (HELLO, OK/NO, PIPE, SHARED, acks, FIN/LOST), and our introduction to the tsf reader of our
// stdout pipe on the socket it announces itself on.
export class LinkServer {
  private server?: Server
  private readonly links = new Set<Socket>()
  // our connection to the announce socket of the tsf reader of our stdout pipe (WRITER)
  private watch?: Socket
  known = false // the reader confirmed it knows us (KNOWN)
  everLinked = false
  private readonly timers: NodeJS.Timeout[] = []
  private closing = false

  constructor(private readonly host: LinkHost) {}

  async listen(link: string): Promise<void> {
    const server = createServer((socket) => this.onLink(socket))
    this.server = server
    server.listen({ path: socketPath(link) })
    await once(server, 'listening')
    server.unref()
  }

  // Introduce ourselves to the tsf reader of our stdout pipe, on the socket it announces itself on,
  // and keep that connection until we exit: the reader then knows us before our first event, and a
  // close without FIN or LOST tells it we died even if we never wrote an event (an idle
  // `tsf collect` killed -9 must not let the rest of the pipeline end with 0). Retried while the
  // reader may still be starting; a reader that is not tsf never answers and is given up on.
  // The reader keeps the connection until it exits, so its close is the reader going away: with
  // no reader linked, nothing else would tell an idle writer (a reader killed -9 right after it
  // read our events, before its HELLO and our WRITER were read: the link it opened was never
  // authenticated, and with nothing more to write we would never meet EPIPE, and wait for ever).
  // With a reader linked, its link's close says it, after the last acks on that link.
  // giveUp: true once introducing is pointless (stdout closed, or a mode that needs no link)
  introduce(pipeInode: number, until: number, giveUp: () => boolean): void {
    if (this.watch || giveUp() || Date.now() > until) return
    const socket = connect({ path: readerAnnouncePath(pipeInode) })
    let connected = false
    socket.on('error', () => {
      if (connected) return // a reset of an introduction made: see 'close'
      const timer = setTimeout(() => this.introduce(pipeInode, until, giveUp), 50)
      timer.unref()
      this.timers.push(timer)
    })
    socket.on('close', () => {
      if (!connected || this.closing) return
      this.watch = undefined
      if (this.links.size === 0) this.host.readerGone()
    })
    socket.on('connect', () => {
      connected = true
      socket.unref()
      this.watch = socket
      // the max-line first: a reader that answers KNOWN has taken it
      socket.write(`${tellMaxLine(this.host.maxLine())}WRITER\n`)
      const end = this.host.endOnWatch()
      if (end) socket.write(end)
    })
    // the reader says KNOWN once it has taken our WRITER line (after its own 'tsf' greeting)
    socket.setEncoding('latin1')
    let text = ''
    socket.on('data', (chunk: string) => {
      if (this.known) return
      text += chunk
      if (text.includes('KNOWN\n')) this.known = true
    })
  }

  // Says a line to every linked reader.
  tell(message: string): void {
    for (const link of this.links) link.write(message)
  }

  // Our max-line grew (a forwarding stage told more by its upstream): tell every reader.
  tellMaxLine(bytes: number): void {
    this.tell(tellMaxLine(bytes))
    this.watch?.write(tellMaxLine(bytes))
  }

  // Says the end (FIN or LOST) to every linked reader and to the reader we introduced ourselves to.
  tellEnd(message: string): void {
    this.tell(message)
    this.watch?.write(message)
  }

  private onLink(socket: Socket): void {
    let authenticated = false
    let refused = false
    socket.setNoDelay(true)
    socket.on('error', () => socket.destroy())
    const lines = socket.pipe(split2())
    lines.on('data', (line: string) => {
      if (refused) return
      if (!authenticated) {
        const m = helloPattern.exec(line)
        if (!m || m[1] !== this.host.nonce) {
          // said, so the reader can tell a refusal from a writer that died before answering
          refused = true
          return socket.end('NO\n')
        }
        authenticated = true
        this.links.add(socket)
        this.everLinked = true
        // the max-line in the same write as OK: a reader that sees the link up frames by it
        socket.write(`${tellMaxLine(this.host.maxLine())}OK\n`)
        // tells a reader whose stdin is our stdout that our lines reach it unfiltered
        // (not when another program writes into the pipe too: its bytes could land inside a long line)
        const pipe = this.host.pipeFor()
        if (pipe >= 0) socket.write(`PIPE ${pipe}\n`)
        const end = this.host.endOnLink()
        if (end) socket.write(end)
        this.host.linked()
        return
      }
      const m = ackPattern.exec(line)
      if (!m) {
        // a reader whose commits cost a fixed wait asks for more in flight
        const w = windowPattern.exec(line)
        if (w) this.host.askedWindow(Number(w[1]))
        else if (line === SPARSE) this.host.sparse()
        return
      }
      this.host.acked(Number(m[1]))
    })
    socket.on('close', () => {
      if (!this.links.delete(socket)) return
      if (this.links.size === 0) this.host.lost()
    })
  }

  close(): void {
    this.closing = true
    for (const t of this.timers) clearTimeout(t)
    for (const link of this.links) link.end()
    this.watch?.end()
    this.server?.close()
  }
}
