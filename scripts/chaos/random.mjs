// A seeded random source (mulberry32): the same --seed gives the same injection schedule.
export class Random {
  constructor(seed) {
    this.state = seed >>> 0
  }

  next() {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0)
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }

  int(lo, hi) {
    return Math.floor(lo + this.next() * (hi - lo + 1))
  }

  pick(list) {
    return list[Math.floor(this.next() * list.length)]
  }
}
