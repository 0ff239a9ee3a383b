import type { EventHead } from '../event.js'
import { allocatedBuffer } from '../buffer-gc.js'
import { EMPTY, LinesBatch, OutBlock, SpanPool, type InputBatch } from './batch.js'

// The batch being framed: its heads, or (InputOptions.lines) its events as bytes in one of the
// line forms, copied into reused blocks, with each head's span in 'spans' form.

export type LinesForm = 'events' | 'heads' | 'spans'

const CLOSE = Buffer.from('}')

// the NDJSON buffer of InputOptions.lines batches: several batches share one, in turn
const LINES_BUFFER = 1024 * 1024

export class BatchBuilder {
  // the batch being framed: heads, or with `lines` its NDJSON bytes
  private heads: EventHead[] = []
  readonly asLines: boolean
  readonly closeLines: boolean // lines end "}\n", not "\n"
  // with lines 'spans': [start, end) of each head of the batch being framed, in `out`
  readonly asSpans: boolean
  private spans = new Int32Array(4096)
  // each batch's copy of its spans, given back when it is released
  private readonly spanPool = new SpanPool()
  private out: Buffer = EMPTY
  private outBlock = new OutBlock(EMPTY, [], 0)
  private readonly freeBlocks: OutBlock[] = []
  outBytes = 0
  outCount = 0
  // per linked writer, the last position framed in this batch
  positions = new Map<string, number>()
  private nextId = 0
  // lines at the end that no cursor vouched for yet (sparse cursors, docs/protocol.md §1): kept
  // out of every batch until one does, or taken back out to be checked (unhold)
  held = 0
  heldBytes = 0 // the held lines' bytes as read (the caller adds them)
  private heldFrom = 0 // where they start in `out`
  private heldAt = 0 // how many events come before them

  constructor(
    lines: LinesForm | undefined,
    private readonly linesBlock = LINES_BUFFER,
    // where blocks of the usual size come from before any is allocated (InputOptions.linesBlocks)
    private readonly blocks?: (size: number) => Buffer | undefined,
  ) {
    this.asLines = lines !== undefined
    this.closeLines = lines === 'events'
    this.asSpans = lines === 'spans'
  }

  // Before framing a chunk: a batch's lines are at most its chunk plus two bytes a line (a cursor
  // cut, "}" added): with room for that, the fast path never grows the buffer.
  reserve(chunk: number): void {
    if (this.asLines && this.out.length - this.outBytes < chunk + 4096) this.fresh(chunk + 4096)
  }

  // The events framed so far as a batch (undefined if there are none), and a fresh one begun.
  take(bytes: number): InputBatch | undefined {
    if (this.held) return this.takeVouched(bytes)
    if (this.asLines ? this.outCount === 0 : this.heads.length === 0) return undefined
    const batch: InputBatch = this.asLines
      ? new LinesBatch(
          this.nextId++,
          this.out.subarray(0, this.outBytes),
          this.outCount,
          bytes,
          this.positions,
          this.closeLines,
          this.outBlock,
          this.asSpans ? this.spanPool.take(this.spans, 2 * this.outCount) : undefined,
          this.asSpans ? this.spanPool : undefined,
        )
      : { id: this.nextId++, heads: this.heads, bytes, positions: this.positions }
    if (this.asLines) {
      // the rest of this buffer holds the next batch: a batch's bytes are never written again
      this.out = this.out.subarray(this.outBytes)
      this.outBytes = 0
      this.outCount = 0
    } else this.heads = []
    this.positions = new Map()
    return batch
  }

  // The lines before the held ones as a batch; the held ones begin the next.
  private takeVouched(bytes: number): InputBatch | undefined {
    const count = this.heldAt
    if (count === 0) return undefined
    const positions = this.positions
    this.positions = new Map()
    this.heldAt = 0
    if (!this.asLines) {
      const heads = this.heads
      this.heads = heads.splice(count)
      return { id: this.nextId++, heads, bytes, positions }
    }
    const from = this.heldFrom
    const spans = this.asSpans ? this.spanPool.take(this.spans, 2 * count) : undefined
    if (spans) {
      // the held lines' spans move to the front, measured from where their bytes will start
      const rest = this.spans.subarray(2 * count, 2 * this.outCount)
      for (let k = 0; k < rest.length; k++) this.spans[k] = rest[k]! - from
    }
    const batch = new LinesBatch(
      this.nextId++,
      this.out.subarray(0, from),
      count,
      bytes,
      positions,
      this.closeLines,
      this.outBlock,
      spans,
      spans ? this.spanPool : undefined,
    )
    this.out = this.out.subarray(from)
    this.outBytes -= from
    this.outCount -= count
    this.heldFrom = 0
    return batch
  }

  // The lines pushed from here on are held (call with none held, at a line boundary of `out`).
  hold(): void {
    this.heldBytes = 0
    this.heldFrom = this.outBytes
    this.heldAt = this.asLines ? this.outCount : this.heads.length
  }

  // A cursor vouched for the held lines: they are events like any other.
  vouch(): void {
    this.held = 0
    this.heldBytes = 0
  }

  // The held lines taken back out, each as the line it was read as (a copy), to be checked.
  unhold(): Buffer[] {
    const lines: Buffer[] = []
    const at = this.heldAt
    this.held = 0
    this.heldBytes = 0
    if (!this.asLines) {
      for (const head of this.heads.splice(at)) lines.push(Buffer.concat([Buffer.from(head as Buffer), CLOSE]))
      return lines
    }
    const out = this.out
    if (this.asSpans) {
      for (let k = at; k < this.outCount; k++) lines.push(Buffer.concat([out.subarray(this.spans[2 * k], this.spans[2 * k + 1]), CLOSE]))
    } else {
      for (let i = this.heldFrom; i < this.outBytes; ) {
        const nl = out.indexOf(10, i)
        lines.push(this.closeLines ? Buffer.from(out.subarray(i, nl)) : Buffer.concat([out.subarray(i, nl), CLOSE]))
        i = nl + 1
      }
    }
    this.outBytes = this.heldFrom
    this.outCount = at
    return lines
  }

  // One event head into the batch being framed.
  push(head: EventHead): void {
    if (!this.asLines) {
      this.heads.push(head)
      return
    }
    const size = typeof head === 'string' ? head.length * 3 : head.length
    if (this.out.length - this.outBytes < size + 2) this.fresh(size + 2)
    const out = this.out
    let at = this.outBytes
    at += typeof head === 'string' ? out.write(head, at) : head.copy(out, at)
    if (this.asSpans) this.span(this.outBytes, at)
    if (this.closeLines) out[at++] = 0x7d // }
    out[at++] = 0x0a
    this.outBytes = at
    this.outCount++
  }

  // The head bytes[start, end) into the batch being framed (the fast path: one copy, no view).
  pushRange(bytes: Buffer, start: number, end: number): void {
    if (!this.asLines) {
      this.heads.push(bytes.subarray(start, end))
      return
    }
    if (this.out.length - this.outBytes < end - start + 2) this.fresh(end - start + 2)
    const out = this.out
    let at = this.outBytes + bytes.copy(out, this.outBytes, start, end)
    if (this.asSpans) this.span(this.outBytes, at)
    if (this.closeLines) out[at++] = 0x7d // }
    out[at++] = 0x0a
    this.outBytes = at
    this.outCount++
  }

  // `count` lines already in the batch format, bytes[from, to), into the batch being framed (with
  // lines 'spans' they are counted and their spans made already).
  pushRun(bytes: Buffer, from: number, to: number, count: number): void {
    if (this.out.length - this.outBytes < to - from) this.fresh(to - from)
    this.outBytes += bytes.copy(this.out, this.outBytes, from, to)
    if (!this.asSpans) this.outCount += count
  }

  // One head's [start, end) in `out`, for lines 'spans' (the count is outCount, not yet counted).
  span(start: number, end: number): void {
    const k = 2 * this.outCount
    if (k + 2 > this.spans.length) {
      const more = new Int32Array(this.spans.length * 2)
      more.set(this.spans)
      this.spans = more
    }
    this.spans[k] = start
    this.spans[k + 1] = end
  }

  // A new buffer for the batch being framed, with room for `need` more bytes; what it holds moves.
  private fresh(need: number): void {
    const usual = this.linesBlock
    const size = Math.max(usual, this.outBytes + need)
    let block = size === usual ? this.freeBlocks.pop() : undefined
    const given = !block && size === usual ? this.blocks?.(size) : undefined
    if (given) block = new OutBlock(given, this.freeBlocks, usual, true)
    if (!block) {
      block = new OutBlock(Buffer.allocUnsafe(size), this.freeBlocks, usual)
      allocatedBuffer(size)
    }
    const next = block.buffer
    this.out.copy(next, 0, 0, this.outBytes)
    this.out = next
    this.outBlock.leave()
    this.outBlock = block
  }
}
