import type { InputBatch } from '../../core/link/reader.js'
import type { Bucket } from './layout.js'
import { RangeSet } from './ranges.js'

// What has been read but not yet committed: per bucket the formatted bytes of its events, in
// order, and the places where a file may be cut (after a whole line, never inside a cut one).

export interface StagedBucket {
  bucket: Bucket
  parts: Buffer[]
  bytes: number
  events: number
  // flat triples (part index, events, bytes) of the places a file may end
  cuts: number[]
}

export class Staged {
  batches: InputBatch[] = []
  buckets = new Map<string, StagedBucket>()
  seqs = new Map<string, RangeSet>()
  bytes = 0 // input bytes, for back pressure
  events = 0

  entry(bucket: Bucket): StagedBucket {
    let entry = this.buckets.get(bucket.key)
    if (!entry) this.buckets.set(bucket.key, (entry = { bucket, parts: [], bytes: 0, events: 0, cuts: [] }))
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
      for (let c = 0; c < from.cuts.length; c += 3) into.cuts.push(from.cuts[c]! + into.parts.length, from.cuts[c + 1]! + into.events, from.cuts[c + 2]! + into.bytes)
      for (const p of from.parts) into.parts.push(p)
      into.bytes += from.bytes
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

export const addPart = (entry: StagedBucket, part: Buffer): void => {
  entry.parts.push(part)
  entry.bytes += part.length
}

export const addCut = (entry: StagedBucket): void => {
  entry.cuts.push(entry.parts.length, entry.events, entry.bytes)
}

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
  let fromPart = 0
  let fromEvents = 0
  let fromBytes = 0
  let fileEvents = first.events
  let fileRaw = first.raw
  const cuts = entry.cuts
  for (let c = 0; c < cuts.length; c += 3) {
    const part = cuts[c]!
    if (part >= entry.parts.length) break
    const events = cuts[c + 1]!
    const bytes = cuts[c + 2]!
    const full = (limits.count > 0 && fileEvents + events - fromEvents >= limits.count) || (limits.size > 0 && fileRaw + bytes - fromBytes >= limits.size)
    if (!full) continue
    out.push({ parts: entry.parts.slice(fromPart, part), bytes: bytes - fromBytes, events: events - fromEvents, fills: true })
    fromPart = part
    fromEvents = events
    fromBytes = bytes
    fileEvents = 0
    fileRaw = 0
  }
  out.push({ parts: fromPart ? entry.parts.slice(fromPart) : entry.parts, bytes: entry.bytes - fromBytes, events: entry.events - fromEvents, fills: false })
  return out
}
