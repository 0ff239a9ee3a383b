// The seqs seen of one stream, as sorted disjoint inclusive ranges [lo, hi]. Batches may arrive out
// of order (retransmits, failover, Kafka partitions), so a maximum alone would not be exact. In the
// common case seqs arrive in order and `add` extends the last range in O(1).
export type Range = [number, number]

export class RangeSet {
  constructor(readonly ranges: Range[] = []) {}

  // index of the first range whose hi >= seq
  private find(seq: number): number {
    const r = this.ranges
    let lo = 0
    let hi = r.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (r[mid]![1] < seq) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  has(seq: number): boolean {
    const r = this.ranges
    const last = r[r.length - 1]
    if (!last || seq > last[1]) return false
    const i = this.find(seq)
    return i < r.length && r[i]![0] <= seq
  }

  add(seq: number): void {
    const r = this.ranges
    const last = r[r.length - 1]
    if (!last || seq > last[1] + 1) {
      r.push([seq, seq])
      return
    }
    if (seq === last[1] + 1) {
      last[1] = seq
      return
    }
    this.addRange(seq, seq)
  }

  // Union with [lo, hi], merging neighbours that touch.
  addRange(lo: number, hi: number): void {
    const r = this.ranges
    const i = this.find(lo - 1) // first range that ends at or after lo-1 (could touch)
    let start = lo
    let end = hi
    let j = i
    while (j < r.length && r[j]![0] <= hi + 1) {
      start = Math.min(start, r[j]![0])
      end = Math.max(end, r[j]![1])
      j++
    }
    r.splice(i, j - i, [start, end])
  }

  addAll(other: RangeSet): void {
    for (const [lo, hi] of other.ranges) this.addRange(lo, hi)
  }

  // the highest seq in the set, -Infinity when empty
  get max(): number {
    const r = this.ranges
    return r.length ? r[r.length - 1]![1] : -Infinity
  }

  get size(): number {
    return this.ranges.length
  }
}
