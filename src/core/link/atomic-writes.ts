import { EventEmitter, once } from 'node:events'
import { warnOnce } from '../log.js'

const PIPE_BUF = 4096

// Writes into a pipe that another program writes into too: whole lines, at most PIPE_BUF bytes
// per write(2), the next only once the last is in the pipe. A stream with writes queued hands
// them to the kernel as one writev(), which is atomic only up to PIPE_BUF in total: lines of
// several writers tore in the middle (one in a few thousand).
export class AtomicWrites extends EventEmitter {
  private queue: ({ data: Buffer; done?: (error?: Error | null) => void } | undefined)[] = []
  private head = 0
  private busy = false

  // closed: stdout is gone, nothing more is written
  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly closed: () => boolean,
  ) {
    super()
  }

  // Writes a run of whole lines; done runs once the last piece is written.
  write(data: Buffer, done: (error?: Error | null) => void): void {
    const pieces = atomicPieces(data)
    for (let i = 0; i < pieces.length; i++) this.queue.push({ data: pieces[i]!, done: i === pieces.length - 1 ? done : undefined })
    this.pump()
  }

  private pump(): void {
    if (this.busy) return
    const next = this.closed() ? undefined : this.queue[this.head]
    if (!next) {
      this.emit('idle')
      return
    }
    this.queue[this.head++] = undefined
    if (this.head === this.queue.length) {
      this.queue = []
      this.head = 0
    }
    this.busy = true
    this.out.write(next.data, (error) => {
      this.busy = false
      next.done?.(error)
      this.pump()
    })
  }

  // Resolves once every piece queued is written (or stdout is gone).
  async drained(): Promise<void> {
    if (!this.closed() && (this.busy || this.head < this.queue.length)) await once(this, 'idle')
  }
}

// Cuts a run of whole lines into pieces of at most PIPE_BUF bytes that end with a newline: the
// kernel writes each such piece to a pipe atomically. A longer line stays one piece (and may
// interleave with another writer's: nothing can prevent that).
const atomicPieces = (data: Buffer): Buffer[] => {
  const pieces: Buffer[] = []
  let start = 0
  while (data.length - start > PIPE_BUF) {
    let cut = data.lastIndexOf(0x0a, start + PIPE_BUF - 1)
    if (cut < start) {
      cut = data.indexOf(0x0a, start + PIPE_BUF)
      warnOnce(
        'long-line-shared-pipe',
        'a line longer than 4096 bytes went into a pipe shared with another writer: it may interleave with theirs',
      )
      if (cut === -1) break
    }
    pieces.push(data.subarray(start, cut + 1))
    start = cut + 1
  }
  if (start < data.length) pieces.push(data.subarray(start))
  return pieces
}
