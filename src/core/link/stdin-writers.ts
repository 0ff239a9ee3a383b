import { fstatSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { readerAnnouncePath } from './cursor.js'
import { finPattern, lostPattern, maxLinePattern } from './protocol.js'

// The writers of our stdin pipe, known before their first event: the reader announces itself on
// a socket named by the pipe's inode, and each tsf writer of the pipe introduces itself there
// (WRITER) and stays connected until it exits, so one that dies before writing any event is
// still a lost upstream.

interface Watch {
  socket: Socket
  writer: boolean // said WRITER (else a prober, or not said yet)
  maxLine: number // what it said in MAXLINE before WRITER (taken once it says WRITER)
  fin: boolean
  closed: boolean
}

export interface StdinWriterHooks {
  told(maxLine: number): void // a writer said MAXLINE
  known(): void // a writer said WRITER
  lost(): void // a writer died before FIN, or said LOST
}

export class StdinWriters {
  stdinInode = -1
  private announcer?: Server
  private readonly watches = new Set<Watch>()

  constructor(private readonly hooks: StdinWriterHooks) {}

  // Tell the writer of our stdin pipe, early, that a tsf reader is here (see readerAnnouncePath).
  announce(): void {
    try {
      const st = fstatSync(0)
      if (!st.isFIFO()) return
      this.stdinInode = st.ino
      const server = createServer((socket) => this.onAnnounceConnection(socket))
      server.on('error', () => undefined) // another reader of the same pipe announced already
      server.listen({ path: readerAnnouncePath(st.ino) })
      server.unref()
      this.announcer = server
    } catch {
      // stdin closed: nobody to announce to
    }
  }

  // A prober (the writer's mode decision) only connects; a writer of our stdin says WRITER and
  // keeps the connection until it exits: FIN or LOST at its end, a close without them if it died.
  // Its lines are taken straight from 'data' (always before 'close'), and a connection that has
  // not said what it is yet counts as open at EOF, so a kill -9 never outruns the WRITER line.
  private onAnnounceConnection(socket: Socket): void {
    socket.on('error', () => undefined)
    socket.unref()
    socket.write('tsf\n')
    const watch: Watch = { socket, writer: false, maxLine: 0, fin: false, closed: false }
    this.watches.add(watch)
    let text = ''
    socket.setEncoding('latin1')
    socket.on('data', (chunk: string) => {
      text += chunk
      for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n')) {
        const line = text.slice(0, nl)
        text = text.slice(nl + 1)
        const told = maxLinePattern.exec(line)
        if (told) {
          watch.maxLine = Number(told[1])
          if (watch.writer) this.hooks.told(watch.maxLine)
        } else if (line === 'WRITER') {
          watch.writer = true
          this.hooks.told(watch.maxLine)
          socket.write('KNOWN\n') // the writer may count on us knowing it from here on
          this.hooks.known()
        } else if (watch.writer && finPattern.test(line)) watch.fin = true
        else if (watch.writer && lostPattern.test(line)) {
          watch.fin = true
          this.hooks.lost()
        }
      }
      if (text.length > 256) socket.destroy() // not a writer of ours
    })
    socket.on('close', () => {
      watch.closed = true
      if (!watch.writer) this.watches.delete(watch)
      else if (!watch.fin) this.hooks.lost()
    })
  }

  // writers of our stdin that introduced themselves and have not ended
  get known(): number {
    let n = 0
    for (const w of this.watches) if (w.writer && !w.fin && !w.closed) n++
    return n
  }

  // a writer that introduced itself and did not say FIN (it may still be writing, or died)
  unfinished(): boolean {
    return [...this.watches].some((w) => w.writer && !w.fin)
  }

  // a connection that has said neither FIN nor closed
  open(): boolean {
    return [...this.watches].some((w) => !w.fin && !w.closed)
  }

  // a connection that has not said what it is yet
  unsaid(): boolean {
    return [...this.watches].some((w) => !w.writer && !w.closed)
  }

  // a writer introduced itself
  introduced(): boolean {
    return [...this.watches].some((w) => w.writer)
  }

  close(): void {
    this.announcer?.close()
    for (const watch of this.watches) watch.socket.destroy()
  }
}
