import { isUtf8 } from 'node:buffer'
import { writeDigits, type HeadBlock } from '../../core/head-block.js'
import { escapeBytes } from '../../core/json-bytes.js'
import { escaper, WasmEscaper } from '../../core/json-escape-wasm.js'

// The fast path of tail: complete lines of valid UTF-8 become events by copying their bytes into
// the output, escaping on the way the few bytes JSON wants escaped (quote, backslash, control
// characters). For valid UTF-8 that is exactly what JSON.stringify does to the decoded text, so
// the heads are exactly sourceEventHead()'s (a test holds them to it):
// {"body":"<line>","ts":T<envelope>,"src":"S","seq":N,"pos":P
// One pass over the bytes does it; no string, Buffer or object per line. The escaping itself runs
// in WebAssembly where it can (json-escape-wasm.ts: the same bytes, several times cheaper).

const OPEN = Buffer.from('{"body":"')
const POS = Buffer.from(',"pos":')

export class LineBlock implements HeadBlock {
  private constructor(
    // the lines (shared by the blocks of one region)
    private readonly bytes: Buffer,
    // where the first line starts in bytes
    private readonly first: number,
    // offset of each line's newline in bytes
    private readonly ends: Int32Array,
    readonly length: number,
    // ","ts":...,"src":"S","seq": — the same for every event of the block
    private readonly middle: Buffer,
    private readonly seq0: number,
    // file offset of bytes[0]
    private readonly pos0: number,
  ) {}

  // The lines of `region` (complete lines, each ending with its newline, the first at file offset
  // pos0, numbered from seq0+1) as blocks of at most `group` events, when the region is valid
  // UTF-8 and no line is over maxLine bytes; undefined otherwise (the careful path takes the
  // region). `middle` is ","ts":T<envelope>,"src":"S","seq":.
  static split(region: Buffer, group: number, maxLine: number, middle: Buffer, seq0: number, pos0: number): LineBlock[] | undefined {
    if (!isUtf8(region)) return undefined
    // no copy: the blocks point into the caller's read buffer, and are written before it reads again
    const bytes = region
    const blocks: LineBlock[] = []
    let from = 0
    let seq = seq0
    while (from < bytes.length) {
      const first = from
      const ends = new Int32Array(Math.min(group, bytes.length - from))
      let n = 0
      while (n < ends.length && from < bytes.length) {
        const nl = bytes.indexOf(10, from)
        if (nl - from > maxLine) return undefined
        ends[n++] = nl
        from = nl + 1
      }
      blocks.push(new LineBlock(bytes, first, ends.subarray(0, n), n, middle, seq, pos0))
      seq += n
    }
    return blocks
  }

  // the writer's chunks in the escaper's memory: escaped straight into them
  chunk(size: number): Buffer | undefined {
    return escaper()?.chunk(size)
  }

  // the file offset just past the last line
  get end(): number {
    return this.pos0 + this.ends[this.length - 1]! + 1
  }

  size(i: number): number {
    const start = i === 0 ? this.first : this.ends[i - 1]! + 1
    // every byte escaped as \u00XX at worst
    return OPEN.length + 6 * (this.ends[i]! - start) + this.middle.length + POS.length + 32
  }

  render(i: number, buf: Buffer, at: number): number {
    return this.head(i, buf, at, this.escaperFor())
  }

  // With sparse cursors (or none), a writer renders the lines of a block back to back, each head
  // followed by "}" and the newline (HeadBlock.lineRun): as many from line i as surely fit `room`
  // (by size()'s bound, each at most `max`). One call for the run instead of a writer's call of
  // size(), render() and its line ending per line (BENCHMARKS.md, branch agent4).
  lineRun(i: number, room: number, max: number): number {
    const ends = this.ends
    const fixed = OPEN.length + this.middle.length + POS.length + 32 + 2
    let start = i === 0 ? this.first : ends[i - 1]! + 1
    let j = i
    for (; j < this.length; j++) {
      const end = ends[j]!
      const size = fixed + 6 * (end - start)
      if (size - 2 > max || size > room) break
      room -= size
      start = end + 1
    }
    return j - i
  }

  renderRun(i: number, count: number, buf: Buffer, at: number): number {
    const wasm = this.escaperFor()
    for (let j = i; j < i + count; j++) {
      at = this.head(j, buf, at, wasm)
      buf[at] = 0x7d // }
      buf[at + 1] = 0x0a
      at += 2
    }
    return at
  }

  // The WebAssembly escaper when it can take this block's lines (its bytes loaded), else undefined.
  private escaperFor(): WasmEscaper | undefined {
    const wasm = escaper()
    if (!wasm || this.bytes.length > WasmEscaper.srcMax) return undefined
    wasm.load(this.bytes)
    return wasm
  }

  // head i at `at` in buf, escaped by `wasm` (whose memory holds this block's bytes) when given
  private head(i: number, buf: Buffer, at: number, wasm: WasmEscaper | undefined): number {
    const src = this.bytes
    const end = this.ends[i]!
    // the two short constants as byte stores: a TypedArray copy costs more than its bytes here
    buf[at] = 0x7b // {"body":"
    buf[at + 1] = 0x22
    buf[at + 2] = 0x62
    buf[at + 3] = 0x6f
    buf[at + 4] = 0x64
    buf[at + 5] = 0x79
    buf[at + 6] = 0x22
    buf[at + 7] = 0x3a
    buf[at + 8] = 0x22
    at += OPEN.length
    const start = i === 0 ? this.first : this.ends[i - 1]! + 1
    if (wasm && 6 * (end - start) <= WasmEscaper.dstMax) at = wasm.escape(start, end, buf, at)
    else at = escapeBytes(src, start, end, buf, at)
    buf.set(this.middle, at)
    at += this.middle.length
    at = writeDigits(buf, at, this.seq0 + i + 1)
    buf[at] = 0x2c // ,"pos":
    buf[at + 1] = 0x22
    buf[at + 2] = 0x70
    buf[at + 3] = 0x6f
    buf[at + 4] = 0x73
    buf[at + 5] = 0x22
    buf[at + 6] = 0x3a
    at += POS.length
    return writeDigits(buf, at, this.pos0 + end + 1)
  }
}
