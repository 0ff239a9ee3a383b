import type { EventHead } from '../event.js'

// The batches a reader hands its stage: heads, or (InputOptions.lines) the events as one run of
// bytes framed into reused blocks, and what a stage may do with them once it stored or sent them.

export interface InputBatch {
  readonly id: number
  readonly heads: EventHead[]
  readonly bytes: number
  // per linked writer, the last position in this batch
  positions: Map<string, number>
  // with InputOptions.lines: the events as bytes in that form (heads made only when asked for)
  readonly lines?: Buffer
  readonly count?: number
  // with InputOptions.lines 'spans': head k is lines[spans[2k], spans[2k + 1]) (until released)
  readonly spans?: Int32Array
}

export const EMPTY = Buffer.alloc(0)
// released blocks kept for reuse (more are left to the collector)
const FREE_BLOCKS = 4

// The stage has stored a batch's bytes elsewhere (a channel's log): let go of them while the batch
// waits to be done, so they do not stay in memory until then. Its count stays.
export const forgetEvents = (batch: InputBatch): void => {
  if (batch instanceof LinesBatch) batch.lines = EMPTY
  else batch.heads.length = 0
}

// The stage no longer holds this batch's bytes anywhere (a collector acked them): the reader may
// frame later input into them. Only for a consumer that forwards the bytes and drops every
// reference to them at this point (ship's TCP sink); others simply never call it.
export const releaseEvents = (batch: InputBatch): void => {
  if (batch instanceof LinesBatch) batch.release()
}

// A buffer that InputOptions.lines batches are framed into, in turn. Reused once the reader moved
// on from it and every batch cut from it was released: allocating a fresh 1 MiB each time made a
// forwarding stage pay for a forced collection every few MiB (buffer-gc.ts), about a third of ship.
export class OutBlock {
  open = 0 // batches cut from it not released yet
  left = false // the reader frames into another block now
  constructor(
    readonly buffer: Buffer,
    private readonly free: OutBlock[],
    private readonly size: number, // the usual size: only blocks of that size are reused
    // from the stage's own memory (InputOptions.linesBlocks): always reused, never let go
    private readonly pinned = false,
  ) {}

  leave(): void {
    this.left = true
    this.recycle()
  }

  release(): void {
    this.open--
    this.recycle()
  }

  private recycle(): void {
    if (this.left && this.open === 0 && this.buffer.length === this.size && (this.pinned || this.free.length < FREE_BLOCKS)) {
      this.left = false
      this.free.push(this)
    }
  }
}

// The arrays a batch's spans are copied into, taken back when the batch is released. A fresh
// Int32Array per batch was a malloc'd backing store (a few KiB) that outlived the scavenges while
// roll staged and committed the batch, so it died in old space, freed only by a full collection:
// roll's arrayBuffers grew by ~12 MB over 256 MiB of W1, none freed, and its malloc heap with them.
export class SpanPool {
  private readonly free: Int32Array[] = []

  // A view of `length` entries, copied from `from`.
  take(from: Int32Array, length: number): Int32Array {
    let home: Int32Array | undefined
    for (let i = this.free.length - 1; i >= 0; i--)
      if (this.free[i]!.length >= length) {
        home = this.free[i]!
        this.free[i] = this.free.at(-1)!
        this.free.pop()
        break
      }
    home ??= new Int32Array(Math.max(4096, 2 ** Math.ceil(Math.log2(length))))
    const view = home.subarray(0, length)
    view.set(from.subarray(0, length))
    return view
  }

  give(view: Int32Array): void {
    if (this.free.length < SPAN_POOL) this.free.push(new Int32Array(view.buffer))
  }
}
// arrays kept for reuse: roll releases each batch right after staging it, so one or two are in use
const SPAN_POOL = 8

// How many events a batch holds, without making its heads.
export const eventCount = (batch: InputBatch): number => (batch.lines ? batch.count! : batch.heads.length)

// A batch held as bytes: its heads are views into `lines`, made on first use (a -H header, a
// consumer that wants events) and kept, so changes to them stick.
export class LinesBatch implements InputBatch {
  private made?: EventHead[]
  private block?: OutBlock
  constructor(
    readonly id: number,
    public lines: Buffer,
    readonly count: number,
    readonly bytes: number,
    public positions: Map<string, number>,
    private readonly closed: boolean, // each line ends with "}" (InputOptions.lines 'events')
    block: OutBlock,
    public spans?: Int32Array,
    // where `spans` (a view) came from, and where it goes back to on release (SpanPool)
    private spanHome?: SpanPool,
  ) {
    this.block = block
    block.open++
  }

  release(): void {
    const block = this.block
    if (!block) return
    this.block = undefined
    this.lines = EMPTY
    this.made = undefined
    if (this.spans && this.spanHome) this.spanHome.give(this.spans)
    this.spans = undefined
    this.spanHome = undefined
    block.release()
  }

  get heads(): EventHead[] {
    if (this.made) return this.made
    const heads: EventHead[] = []
    const lines = this.lines
    const spans = this.spans
    if (spans) {
      for (let k = 0; k < spans.length; k += 2) heads.push(lines.subarray(spans[k], spans[k + 1]))
      return (this.made = heads)
    }
    const cut = this.closed ? 1 : 0 // a head is without its "}"
    for (let at = 0; at < lines.length; ) {
      const nl = lines.indexOf(10, at)
      heads.push(lines.subarray(at, nl - cut))
      at = nl + 1
    }
    return (this.made = heads)
  }
}
