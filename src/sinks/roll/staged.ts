import { unescaper } from '../../core/json-unescape-wasm.js'
import type { InputBatch } from '../../core/link/reader.js'
import type { Bucket } from './layout.js'
import { RangeSet } from './ranges.js'

// What has been read but not yet committed: per bucket the formatted bytes of its events, copied
// into a few large chunks (no per-event buffers), and the places where a file may be cut (after a
// whole line, never inside a cut one).

const FIRST_CHUNK = 16 * 1024
const MAX_CHUNK = 1024 * 1024

// Full-size chunks of committed groups, kept for the next ones: a buffer that lived through a
// commit is old, and V8 frees old buffers only at its rare full collections, so without reuse the
// memory would grow by a group per commit until one.
const pool: Buffer[] = []
const POOL_MAX = 24

// Bytes appended into chunks that grow from 16 KiB to 1 MiB: a quiet bucket costs little, a busy
// one writes in large blocks.
export class ByteChunks {
  private readonly sealed: Buffer[] = []
  private readonly owned: Buffer[] = []
  private current: Buffer = EMPTY
  private used = 0
  private sealedBytes = 0

  get length(): number {
    return this.sealedBytes + this.used
  }

  // Room for n more bytes in one piece: returns the buffer and the offset to write at; the
  // caller then says how many it wrote (commit).
  reserve(n: number): Buffer {
    if (this.current.length - this.used >= n) return this.current
    this.seal()
    // full-size chunks in the unescaper's memory first, from the first chunk on: bodies are
    // unescaped straight into them (its pages become memory only once written)
    const arena = n <= MAX_CHUNK ? unescaper()?.chunk(MAX_CHUNK) : undefined
    let size = Math.min(MAX_CHUNK, Math.max(FIRST_CHUNK, this.sealed.length ? this.sealedBytes : 0))
    if (size < n) size = n
    this.current = arena ?? (size === MAX_CHUNK ? pool.pop() : undefined) ?? Buffer.allocUnsafeSlow(size)
    this.owned.push(this.current)
    return this.current
  }

  // Once the bytes are written and nothing refers to them any more: full-size chunks go back to
  // the pool.
  release(): void {
    const arena = unescaper()
    for (const chunk of this.owned) {
      if (arena && chunk.buffer === arena.memory) arena.give(chunk)
      else if (chunk.length === MAX_CHUNK && pool.length < POOL_MAX) pool.push(chunk)
    }
    this.owned.length = 0
    this.sealed.length = 0
    this.current = EMPTY
    this.used = 0
    this.sealedBytes = 0
  }

  get offset(): number {
    return this.used
  }

  commit(n: number): void {
    this.used += n
  }

  append(src: Buffer, start = 0, end = src.length): void {
    const n = end - start
    const into = this.reserve(n)
    src.copy(into, this.used, start, end)
    this.used += n
  }

  appendByte(byte: number): void {
    const into = this.reserve(1)
    into[this.used++] = byte
  }

  private seal(): void {
    if (this.used === 0) return
    this.sealed.push(this.current.subarray(0, this.used))
    this.sealedBytes += this.used
    this.current = this.current.subarray(this.used)
    this.used = 0
  }

  // The bytes [from, to) as pieces (views, no copy).
  slice(from: number, to: number): Buffer[] {
    this.seal()
    const out: Buffer[] = []
    let at = 0
    for (const chunk of this.sealed) {
      const end = at + chunk.length
      if (end > from && at < to) out.push(chunk.subarray(Math.max(0, from - at), Math.min(chunk.length, to - at)))
      at = end
      if (at >= to) break
    }
    return out
  }

  // Moves b's bytes after this one's.
  absorb(b: ByteChunks): void {
    this.seal()
    b.seal()
    for (const chunk of b.sealed) this.sealed.push(chunk)
    for (const chunk of b.owned) this.owned.push(chunk)
    this.sealedBytes += b.sealedBytes
  }
}

const EMPTY = Buffer.alloc(0)

// Flat pairs (bytes, events) of the places a file may end: one pair per line staged. A plain
// array per group grew by copies, ~80 KB per MiB of input, and its large ones lived through a
// commit into old space and large-object space, where only V8's rare full collections free them:
// roll's large-object space grew by ~12 MB over 256 MiB of W1. The arrays are reused instead.
export class Cuts {
  private data: Float64Array = NO_CUTS
  length = 0

  push(bytes: number, events: number): void {
    if (this.length + 2 > this.data.length) this.grow(this.length + 2)
    this.data[this.length++] = bytes
    this.data[this.length++] = events
  }

  at(i: number): number {
    return this.data[i]!
  }

  // Once the group is committed (or merged into another): the array goes back for reuse.
  release(): void {
    if (this.data !== NO_CUTS && cutPool.length < CUT_POOL) cutPool.push(this.data)
    this.data = NO_CUTS
    this.length = 0
  }

  private grow(need: number): void {
    let size = Math.max(FIRST_CUTS, this.data.length * 2)
    while (size < need) size *= 2
    let i = cutPool.findIndex((a) => a.length >= size)
    const next = i >= 0 ? cutPool.splice(i, 1)[0]! : new Float64Array(size)
    next.set(this.data.subarray(0, this.length))
    i = this.length
    this.release()
    this.data = next
    this.length = i
  }
}
const NO_CUTS: Float64Array = new Float64Array(0)
const FIRST_CUTS = 4096
const cutPool: Float64Array[] = []
const CUT_POOL = 8

export interface StagedBucket {
  bucket: Bucket
  data: ByteChunks
  events: number
  cuts: Cuts
}

export class Staged {
  batches: InputBatch[] = []
  buckets = new Map<string, StagedBucket>()
  seqs = new Map<string, RangeSet>()
  bytes = 0 // input bytes, for back pressure
  events = 0
  since = 0 // when its first batch was staged (ms)

  // After a successful commit: the staging memory is reused.
  release(): void {
    for (const entry of this.buckets.values()) {
      entry.data.release()
      entry.cuts.release()
    }
  }

  entry(bucket: Bucket): StagedBucket {
    let entry = this.buckets.get(bucket.key)
    if (!entry) this.buckets.set(bucket.key, (entry = { bucket, data: new ByteChunks(), events: 0, cuts: new Cuts() }))
    return entry
  }

  // Appends b (staged after this one) to this.
  absorb(b: Staged): void {
    for (const [key, from] of b.buckets) {
      const into = this.buckets.get(key)
      if (!into) {
        this.buckets.set(key, from)
        continue
      }
      const bytes = into.data.length
      for (let c = 0; c < from.cuts.length; c += 2) into.cuts.push(from.cuts.at(c) + bytes, from.cuts.at(c + 1) + into.events)
      from.cuts.release()
      into.data.absorb(from.data)
      into.events += from.events
    }
    for (const [src, set] of b.seqs) {
      const into = this.seqs.get(src)
      if (into) into.addAll(set)
      else this.seqs.set(src, set)
    }
    this.batches.push(...b.batches)
    this.bytes += b.bytes
    this.events += b.events
  }
}

export const addCut = (entry: StagedBucket): void => {
  entry.cuts.push(entry.data.length, entry.events)
}

// The bucket's staged bytes end at a place a file may end (not inside a cut line).
export const endsAtCut = (entry: StagedBucket): boolean =>
  entry.cuts.length > 0 && entry.cuts.at(entry.cuts.length - 2) === entry.data.length

export interface Slice {
  parts: Buffer[]
  bytes: number
  events: number
  // the file is full after this slice and more of the bucket follows in a new file
  fills: boolean
}

export interface FileFill {
  events: number
  raw: number // uncompressed bytes
}

// Splits a bucket's staged events over files so that --count and --size hold: a file is full
// once it reaches either (a size roll overshoots by less than one line); cuts only between lines.
export const sliceForFiles = (entry: StagedBucket, first: FileFill, limits: { count: number; size: number }): Slice[] => {
  const out: Slice[] = []
  const total = entry.data.length
  let fromEvents = 0
  let fromBytes = 0
  let fileEvents = first.events
  let fileRaw = first.raw
  const cuts = entry.cuts
  // most commits fill no file: then no cut needs a look
  const fills = (limits.count > 0 && fileEvents + entry.events >= limits.count) || (limits.size > 0 && fileRaw + total >= limits.size)
  if (fills) {
    for (let c = 0; c < cuts.length; c += 2) {
      const bytes = cuts.at(c)
      if (bytes >= total) break
      const events = cuts.at(c + 1)
      const full =
        (limits.count > 0 && fileEvents + events - fromEvents >= limits.count) ||
        (limits.size > 0 && fileRaw + bytes - fromBytes >= limits.size)
      if (!full) continue
      out.push({ parts: entry.data.slice(fromBytes, bytes), bytes: bytes - fromBytes, events: events - fromEvents, fills: true })
      fromEvents = events
      fromBytes = bytes
      fileEvents = 0
      fileRaw = 0
    }
  }
  out.push({ parts: entry.data.slice(fromBytes, total), bytes: total - fromBytes, events: entry.events - fromEvents, fills: false })
  return out
}
