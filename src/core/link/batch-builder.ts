import type { EventHead } from '../event.js'
import { allocatedBuffer } from '../buffer-gc.js'
import { EMPTY, LinesBatch, OutBlock, type InputBatch } from './batch.js'

// The batch being framed: its heads, or (InputOptions.lines) its events as bytes in one of the
// line forms, copied into reused blocks, with each head's span in 'spans' form.

export type LinesForm = 'events' | 'heads' | 'spans'

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
  private out: Buffer = EMPTY
  private outBlock = new OutBlock(EMPTY, [], 0)
  private readonly freeBlocks: OutBlock[] = []
  outBytes = 0
  outCount = 0
  // per linked writer, the last position framed in this batch
  positions = new Map<string, number>()
  private nextId = 0

  constructor(
    lines: LinesForm | undefined,
    private readonly linesBlock = LINES_BUFFER,
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
          this.asSpans ? this.spans.slice(0, 2 * this.outCount) : undefined,
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
