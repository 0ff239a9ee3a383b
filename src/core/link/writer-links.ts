import { connect, type Socket } from 'node:net'
import split2 from 'split2'
import { ACK_KEY, socketPath } from './cursor.js'
import type { InputBatch } from './batch.js'
import {
  ackPattern,
  askWindow,
  finPattern,
  hello,
  lostPattern,
  maxLinePattern,
  pipePattern,
  REFUSED,
  sharedPattern,
  SPARSE,
} from './protocol.js'

// The reader's links to the writers its cursors name: one socket each (HELLO, OK, MAXLINE, PIPE,
// FIN/LOST), and the cumulative ACK each is sent once every batch up to a position is durable.

// 'dead': it accepted our connection, then closed it before answering HELLO (killed meanwhile)
type LinkState = 'connecting' | 'up' | 'unreachable' | 'dead'

export interface Link {
  id: string
  state: LinkState
  socket?: Socket
  nonce: string
  // the writer's stdout is our stdin (it said so: PIPE <inode>): no filter in between, so its
  // lines are its own, valid by construction, and take the fast path
  direct: boolean
  // ,"_ack":"<link>.<nonce>. as bytes, to recognise and cut this writer's cursors in place
  prefix: Buffer
  fin: boolean
  closed: boolean
  sent: number // last position acked on the wire
  due: number // last position durable, to be sent
  // direct, and told SPARSE: the writer may leave out all cursors of a write but the last; the
  // reader vouches for the lines between by their count (the positions say how many)
  sparse: boolean
  pos: number // the last position read from this writer (-1: none yet)
}

export interface LinkHooks {
  // the inode of our stdin pipe (-1 if it is none): a writer that names it is direct
  stdinInode(): number
  told(maxLine: number): void // it said MAXLINE
  direct(link: Link): void // it said PIPE with our stdin's inode
  shared(link: Link): void // a direct one said SHARED: another process writes into our stdin too
  lost(): void // it died before FIN, or said LOST
}

export class WriterLinks {
  readonly links = new Map<string, Link>()
  private ackedUpTo = 0 // batches [0, ackedUpTo) are done
  private readonly inflight = new Map<number, { batch: InputBatch; done: boolean }>()
  private ackScheduled = false

  constructor(
    private readonly hooks: LinkHooks,
    private readonly window?: number, // asked of every writer that links up (WINDOW)
  ) {}

  linkTo(id: string, nonce: string): Link {
    let link = this.links.get(id)
    if (link) return link
    link = {
      id,
      state: 'connecting',
      nonce,
      direct: false,
      prefix: Buffer.from(`${ACK_KEY}${id}.${nonce}.`, 'latin1'),
      fin: false,
      closed: false,
      sent: 0,
      due: 0,
      sparse: false,
      pos: -1,
    }
    this.links.set(id, link)
    const l = link
    const socket = connect({ path: socketPath(id) })
    l.socket = socket
    socket.setNoDelay(true)
    let connected = false
    let refused = false
    socket.on('connect', () => {
      connected = true
      socket.write(hello(nonce) + (this.window ? askWindow(this.window) : ''))
    })
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // a reset after it accepted us (ECONNRESET: killed with our HELLO unread) is decided at close;
      // so is one before node said 'connect': the kernel had queued us on its listening socket, so
      // it was alive then (only a refusal, ECONNREFUSED, means nobody listened)
      if (error.code === 'ECONNRESET') connected = true
      if (l.state === 'connecting' && !connected) l.state = 'unreachable'
    })
    socket.pipe(split2()).on('data', (line: string) => {
      if (line === REFUSED) refused = true
      else if (line === 'OK') {
        l.state = 'up'
        this.sendAcks()
      } else if (maxLinePattern.test(line)) this.hooks.told(Number(maxLinePattern.exec(line)![1]))
      else if (finPattern.test(line)) l.fin = true
      else if (pipePattern.test(line)) {
        const inode = this.hooks.stdinInode()
        if (!l.direct && inode >= 0 && Number(pipePattern.exec(line)![1]) === inode) {
          l.direct = true
          // we count its lines: it may send a cursor per write rather than per line
          l.sparse = true
          socket.write(`${SPARSE}\n`)
          this.hooks.direct(l)
        }
      } else if (sharedPattern.test(line)) {
        if (l.direct) {
          l.direct = false
          l.sparse = false
          this.hooks.shared(l)
        }
      } else if (lostPattern.test(line)) {
        // a clean end of its output (no torn line), but the pipeline upstream of it is broken
        l.fin = true
        this.hooks.lost()
      } else if (ackPattern.test(line)) {
        // not sent by writers; ignored
      }
    })
    socket.on('close', () => {
      const wasUp = l.state === 'up'
      // A writer that accepted our connection was alive: a close before it answered (no OK, no
      // NO) is a kill -9 that came before it read our HELLO, however soon after its events.
      const diedAnswering = l.state === 'connecting' && connected && !refused
      if (l.state === 'connecting') l.state = diedAnswering ? 'dead' : 'unreachable'
      l.closed = true
      if ((wasUp || diedAnswering) && !l.fin) this.hooks.lost()
    })
    return link
  }

  // A batch handed to the stage: acked once it and every earlier one is done.
  handed(batch: InputBatch): void {
    this.inflight.set(batch.id, { batch, done: false })
  }

  // The engine made this batch durable: ack upstream once every earlier batch is durable too.
  done(batch: InputBatch): void {
    const entry = this.inflight.get(batch.id)
    if (!entry) return
    entry.done = true
    while (true) {
      const next = this.inflight.get(this.ackedUpTo)
      if (!next || !next.done) break
      for (const [id, position] of next.batch.positions) {
        const link = this.links.get(id)
        if (link && position > link.due) link.due = position
      }
      this.inflight.delete(this.ackedUpTo)
      this.ackedUpTo++
    }
    if (!this.ackScheduled) {
      this.ackScheduled = true
      setImmediate(() => this.sendAcks())
    }
  }

  get pending(): number {
    return this.inflight.size
  }

  // a link still deciding (no answer to HELLO yet)
  connecting(): boolean {
    return [...this.links.values()].some((l) => l.state === 'connecting')
  }

  // links we reached, or tried to, that did not say FIN
  unfinished(): Link[] {
    return [...this.links.values()].filter((l) => !l.fin)
  }

  // a reachable link that has said neither FIN nor closed
  open(): boolean {
    return [...this.links.values()].some((l) => l.state !== 'unreachable' && !l.fin && !l.closed)
  }

  sendAcks(): void {
    this.ackScheduled = false
    for (const link of this.links.values()) {
      if (link.state === 'up' && !link.closed && link.due > link.sent) {
        link.socket!.write(`ACK ${link.due}\n`)
        link.sent = link.due
      }
    }
  }

  close(): void {
    this.sendAcks()
    for (const link of this.links.values()) link.socket?.end()
  }
}
