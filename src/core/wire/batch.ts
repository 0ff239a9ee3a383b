import type { EventHead } from '../event.js'
import { plainLineHead } from '../event.js'
import type { HeadBlock } from '../head-block.js'
import { NO_SRC, NOT_JSON, releaseScanBuffer, scanObject } from '../json-scan.js'
import { LineChecker, lineChecker } from '../json-scan-wasm.js'

// A batch payload is the events as NDJSON lines, exactly what a tsf command writes to stdout minus
// the ack cursor: head + "}\n". No parsing on either side: the sender closes heads, the receiver
// cuts lines and reopens them.

const CLOSE = Buffer.from('}\n')

// heads → one buffer, one copy
export const encodeBatch = (heads: readonly EventHead[]): Buffer => {
  let size = 0
  for (const h of heads) size += (typeof h === 'string' ? Buffer.byteLength(h) : h.length) + 2
  const out = Buffer.allocUnsafe(size)
  let at = 0
  for (const h of heads) {
    at += typeof h === 'string' ? out.write(h, at) : h.copy(out, at)
    out[at++] = CLOSE[0]!
    out[at++] = CLOSE[1]!
  }
  return out
}

export interface DecodeOptions {
  // longest line kept as an event head; longer ones become cut plain-text pieces
  maxEvent: number
  onOversize?: (bytes: number) => void
  // "<agent>/": every event's top-level src is moved into this sender's space (unless already there),
  // so one sender can never claim another's stream
  srcPrefix?: Buffer
  // a line shaped like {…} that is not a JSON event was kept as the body of a plain event
  onNotEvent?: () => void
}

// A batch's heads as a HeadBlock: most are payload[start, end), kept as two numbers (no object per
// event); the others (plain-text events, a src with the sender's prefix) as heads of their own.
export class BatchHeads implements HeadBlock {
  length = 0
  // start and end of each head; a start < 0 is -1 - its index in others
  private spans = takeSpans()
  private readonly others: EventHead[] = []
  // writes made straight from the payload not done yet, and what to do once they are (release)
  private holds = 0
  private free?: () => void

  constructor(private payload: Buffer) {}

  span(start: number, end: number): void {
    if (2 * this.length === this.spans.length) this.grow()
    this.spans[2 * this.length] = start
    this.spans[2 * this.length++ + 1] = end
  }

  head(head: EventHead): void {
    this.others.push(head)
    this.span(-this.others.length, 0)
  }

  private grow(): void {
    const bigger = new Int32Array(Math.max(2 * this.spans.length, 4096))
    bigger.set(this.spans)
    this.spans = bigger
  }

  size(i: number): number {
    const start = this.spans[2 * i]!
    if (start >= 0) return this.spans[2 * i + 1]! - start
    const head = this.others[-1 - start]!
    return typeof head === 'string' ? head.length * 3 : head.length
  }

  render(i: number, buf: Buffer, at: number): number {
    const start = this.spans[2 * i]!
    if (start >= 0) {
      const p = this.payload
      const end = this.spans[2 * i + 1]!
      buf.set(new Uint8Array(p.buffer, p.byteOffset + start, end - start), at)
      return at + end - start
    }
    const head = this.others[-1 - start]!
    if (typeof head === 'string') return at + buf.write(head, at)
    buf.set(head, at)
    return at + head.length
  }

  // Heads kept as spans are the payload's own lines (head, "}", newline): consecutive ones are one
  // run of payload bytes, copied at once by a writer without cursors (one copy per chunk, not a
  // view and a copy per event).
  lineRun(i: number, room: number, max: number): number {
    const spans = this.spans
    const p = this.payload
    const first = spans[2 * i]!
    if (first < 0) return 0 // a head of its own
    let next = first
    let j = i
    for (; j < this.length; j++) {
      const start = spans[2 * j]!
      const end = spans[2 * j + 1]!
      if (start !== next || end - start > max || end + 2 - first > room || p[end] !== 0x7d || p[end + 1] !== 0x0a) break
      next = end + 2
    }
    return j - i
  }

  renderRun(i: number, count: number, buf: Buffer, at: number): number {
    const start = this.spans[2 * i]!
    const end = this.spans[2 * (i + count - 1) + 1]! + 2
    const p = this.payload
    buf.set(new Uint8Array(p.buffer, p.byteOffset + start, end - start), at)
    return at + end - start
  }

  lineBytes(i: number, count: number): Buffer {
    return this.payload.subarray(this.spans[2 * i]!, this.spans[2 * (i + count - 1) + 1]! + 2)
  }

  // A writer writes runs of the payload as they lie (lineBytes): the payload's block goes back to
  // the frame pool (release's free) only once every such write is done.
  hold(): () => void {
    this.holds++
    let held = true
    return () => {
      if (!held) return
      held = false
      if (--this.holds === 0 && this.free) {
        const free = this.free
        this.free = undefined
        free()
      }
    }
  }

  // the heads as a list (payload views and the others)
  list(): EventHead[] {
    const out: EventHead[] = []
    for (let i = 0; i < this.length; i++) {
      const start = this.spans[2 * i]!
      out.push(start >= 0 ? this.payload.subarray(start, this.spans[2 * i + 1]!) : this.others[-1 - start]!)
    }
    return out
  }

  // Once written: free() gives the payload's block to the next frame, now or once the writes made
  // straight from it are done (hold).
  release(free?: () => void): void {
    this.payload = EMPTY
    this.others.length = 0
    this.length = 0
    if (this.spans.length <= SPANS_KEPT) spareSpans = this.spans
    this.spans = NO_SPANS
    if (!free) return
    if (this.holds === 0) free()
    else this.free = free
  }
}

const EMPTY = Buffer.alloc(0)
const NO_SPANS = new Int32Array(0)
// The spans of the last batch released, for the next (a batch's ~2,000-4,000 heads were a fresh
// 16-32 KiB array, grown once or twice, per batch); larger ones are not kept.
const SPANS_KEPT = 1 << 16
let spareSpans: Int32Array | undefined
const takeSpans = (): Int32Array => {
  const spans = spareSpans ?? new Int32Array(8192)
  spareSpans = undefined
  return spans
}

// payload → heads. A line that is not a JSON object with a string body becomes the body of an event,
// so a misbehaving sender can make odd events but never broken output (every line is checked in one
// pass, without parsing). Heads are spans of payload, except those whose src gets a prefix and plain-text ones.
// Where WebAssembly SIMD is, the lines are found and checked in a copy in the checker's memory, up
// to LineChecker.max bytes of whole lines at a time; a longer line takes the JavaScript check.
export const decodeBatch = (payload: Buffer, options: DecodeOptions): EventHead[] => decodeBlock(payload, options).list()

// The same as a HeadBlock: no object per event.
export const decodeBlock = (payload: Buffer, options: DecodeOptions): BatchHeads => {
  const heads = new BatchHeads(payload)
  const n = payload.length
  const checker = lineChecker()
  let start = 0
  while (start < n) {
    if (checker) {
      const loaded = Math.min(n, start + LineChecker.max) - start
      checker.load(payload, start, start + loaded)
      let from = 0
      for (;;) {
        const count = checker.check(from, loaded, start + loaded === n)
        for (let k = 0; k < count; k++) {
          const end = checker.lineEnd(k)
          const verdict = checker.verdict(k)
          take(heads, payload, start + from, start + end, verdict >= 0 ? verdict + start : verdict, options)
          from = end + 1
        }
        if (count < LineChecker.lines) break
      }
      if (from > 0) {
        start += from
        continue
      }
    }
    // a line longer than a load, or no WebAssembly: the JavaScript check
    let end = payload.indexOf(10, start)
    if (end === -1) end = n
    take(heads, payload, start, end, undefined, options)
    start = end + 1
  }
  releaseScanBuffer()
  return heads
}

// The line payload[start, end) as heads; verdict: scanObject's on it (if known), or NOT_JSON for a
// line not shaped {…}.
const take = (
  heads: BatchHeads,
  payload: Buffer,
  start: number,
  end: number,
  verdict: number | undefined,
  options: DecodeOptions,
): void => {
  const len = end - start
  if (len === 0) return
  if (len > options.maxEvent) {
    options.onOversize?.(len)
    for (let at = start; at < end; at += options.maxEvent) {
      const stop = Math.min(end, at + options.maxEvent)
      heads.head(plainLineHead(payload.subarray(at, stop), { cont: stop < end }))
    }
    return
  }
  const srcAt = verdict ?? (payload[start] === 0x7b && payload[end - 1] === 0x7d ? scanObject(payload, start, end) : NOT_JSON)
  if (srcAt < NO_SRC) {
    if (payload[start] === 0x7b) options.onNotEvent?.()
    heads.head(plainLineHead(payload.subarray(start, end)))
  } else if (options.srcPrefix && srcAt >= 0 && !startsWith(payload, srcAt, options.srcPrefix)) {
    heads.head(Buffer.concat([payload.subarray(start, srcAt), options.srcPrefix, payload.subarray(srcAt, end - 1)]))
  } else heads.span(start, end - 1)
}

const startsWith = (b: Buffer, at: number, prefix: Buffer): boolean =>
  b.length - at >= prefix.length && b.compare(prefix, 0, prefix.length, at, at + prefix.length) === 0
