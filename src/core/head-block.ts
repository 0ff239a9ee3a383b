import type { EventHead } from './event.js'

// A run of event heads that renders itself straight into the writer's buffer: no string, Buffer
// or object per event. Sources whose events are mostly the bytes they read (tail, spool on plain
// ASCII lines) hand these to EventOutput.write() instead of an array of heads.
export interface HeadBlock {
  readonly length: number
  // at most how many bytes head i takes
  size(i: number): number
  // writes head i (event JSON without its closing brace) into buf at `at`; returns the offset after it
  render(i: number, buf: Buffer, at: number): number
}

export type Heads = EventHead[] | HeadBlock

export const isHeadBlock = (heads: Heads): heads is HeadBlock => !Array.isArray(heads)

// The heads as strings (tests, and consumers off the hot path).
export const headStrings = (heads: Heads): string[] => {
  if (!isHeadBlock(heads)) return heads.map((h) => h.toString())
  const out: string[] = []
  for (let i = 0; i < heads.length; i++) {
    const buf = Buffer.allocUnsafe(heads.size(i))
    out.push(buf.toString('utf8', 0, heads.render(i, buf, 0)))
  }
  return out
}

// Writes a non-negative integer as ASCII digits at `at`; returns the offset after it.
export const writeDigits = (buf: Buffer, at: number, n: number): number => {
  let digits = 1
  for (let x = n; x >= 10; x = Math.floor(x / 10)) digits++
  let i = at + digits
  for (let x = n; ; ) {
    const q = Math.floor(x / 10)
    buf[--i] = 0x30 + (x - q * 10)
    x = q
    if (x === 0) break
  }
  return at + digits
}
