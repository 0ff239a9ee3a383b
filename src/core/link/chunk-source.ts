import { fstatSync } from 'node:fs'
import { Socket } from 'node:net'

// Where a reader's chunks come from. `next(take)` reads chunks and hands each to `take`, which must
// use it at once (with a reused buffer it is overwritten by the next read), until `take` returns a
// value: that value, or END when the input ended.
export const END = Symbol('end')

export interface ChunkSource {
  next<T>(take: (chunk: Buffer) => T | undefined): Promise<T | typeof END>
  // stop reading; `abandon`: the input did not end (stopped while a read may be pending)
  close(abandon: boolean): Promise<void>
}

// Any readable stream, through its async iterator: each chunk is a fresh buffer.
export const streamChunks = (stream: NodeJS.ReadableStream): ChunkSource => {
  const iterator = (stream as AsyncIterable<Buffer>)[Symbol.asyncIterator]()
  return {
    async next<T>(take: (chunk: Buffer) => T | undefined): Promise<T | typeof END> {
      for (;;) {
        const next = await iterator.next()
        if (next.done) return END
        const value = take(next.value)
        if (value !== undefined) return value
      }
    },
    async close(abandon: boolean): Promise<void> {
      if (!abandon) {
        await iterator.return?.()
        return
      }
      // an idle upstream: return() would wait for its next data or EOF. Close our end instead;
      // what was not read stays unacked with the writer.
      ;(stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.()
      void iterator.return?.()?.catch(() => undefined)
    },
  }
}

// A pipe or socket on stdin read into ONE buffer, used again for every read. Node's stdin stream
// allocates a fresh 64 KiB buffer per read; the dead ones are external memory that V8 frees only
// after it grew by its limit (64 MiB), which made most of a forwarding stage's peak RSS. Only for a
// reader that copies out what it keeps. Undefined when stdin is anything else (a file, a TTY).
export const reusedStdinChunks = (size = 128 * 1024): ChunkSource | undefined => {
  try {
    const st = fstatSync(0)
    if (!st.isFIFO() && !st.isSocket()) return undefined
  } catch {
    return undefined
  }
  return new ReusedStdin(size)
}

class ReusedStdin implements ChunkSource {
  private readonly socket: Socket
  private take?: (chunk: Buffer) => unknown
  private settle?: (value: unknown) => void
  private fail?: (error: Error) => void
  private ended = false
  private error?: Error

  constructor(size: number) {
    const buffer = Buffer.allocUnsafe(size)
    // onread is a documented Socket option that @types/node lists for connect() only
    const options = { fd: 0, readable: true, writable: false, onread: { buffer, callback: (n: number) => this.onRead(buffer, n) } }
    this.socket = new Socket(options as ConstructorParameters<typeof Socket>[0])
    this.socket.on('end', () => this.finish())
    this.socket.on('close', () => this.finish())
    this.socket.on('error', (error: Error) => {
      this.error ??= error
      this.finish()
    })
    this.socket.pause() // read only while a caller waits for a value
  }

  // returning false pauses the socket until the next call to next()
  private onRead(buffer: Buffer, n: number): boolean {
    const take = this.take
    /* c8 ignore next -- defensive: the socket reads only while next() waits */
    if (!take) return false
    const value = take(buffer.subarray(0, n))
    if (value === undefined) return true
    this.take = undefined
    this.settle!(value)
    return false
  }

  private finish(): void {
    this.ended = true
    if (!this.take) return
    this.take = undefined
    if (this.error) this.fail!(this.error)
    else this.settle!(END)
  }

  next<T>(take: (chunk: Buffer) => T | undefined): Promise<T | typeof END> {
    if (this.error) return Promise.reject(this.error)
    if (this.ended) return Promise.resolve(END)
    return new Promise<T | typeof END>((resolve, reject) => {
      this.take = take
      this.settle = resolve as (value: unknown) => void
      this.fail = reject
      this.socket.resume()
    })
  }

  async close(): Promise<void> {
    this.socket.destroy()
  }
}
