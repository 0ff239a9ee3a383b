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
  // a buffer of `size` bytes that render() writes into fastest (undefined: any Buffer will do)
  chunk?(size: number): Buffer | undefined
  // Heads that lie back to back in one buffer as whole lines (each head followed by "}\n", exactly
  // what the writer renders without a cursor): how many from head i on, each head at most `max`
  // bytes, all of them at most `room` bytes with their "}\n"; 0 when head i is not such a line.
  // A writer that leaves the cursor out (sparse cursors, a terminal) then copies them at once.
  lineRun?(i: number, room: number, max: number): number
  // copies heads i … i + count - 1 of such a run, with their "}\n", into buf at `at`; returns the offset after them
  renderRun?(i: number, count: number, buf: Buffer, at: number): number
  // where a run's lines lie as they are rendered (a collector's batch): heads i … i + count - 1
  // with their "}\n" as the bytes they lie in (a view, valid while the writer is in write(), or
  // until hold()'s release when it holds them)
  lineBytes?(i: number, count: number): Buffer
  // keeps those bytes from being reused until the returned release runs: a writer that writes a
  // run as it lies (no copy: sparse cursors) holds them until its write is done
  hold?(): () => void
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

// Writes a non-negative integer as ASCII digits at `at`; returns the offset after it. Two digits
// per step in 32-bit integer arithmetic (a seq and a pos per event: the float divisions this did
// before cost about 70 ns a number); numbers past 2^31 take the float path.
const PAIRS = new Uint8Array(200)
for (let i = 0; i < 100; i++) {
  PAIRS[2 * i] = 0x30 + Math.floor(i / 10)
  PAIRS[2 * i + 1] = 0x30 + (i % 10)
}

export const writeDigits = (buf: Uint8Array, at: number, n: number): number => {
  if (n > 0x7fffffff) return writeBigDigits(buf, at, n)
  const digits =
    n < 10
      ? 1
      : n < 100
        ? 2
        : n < 1000
          ? 3
          : n < 10000
            ? 4
            : n < 100000
              ? 5
              : n < 1000000
                ? 6
                : n < 10000000
                  ? 7
                  : n < 100000000
                    ? 8
                    : n < 1000000000
                      ? 9
                      : 10
  let i = at + digits
  let x = n | 0
  while (x >= 100) {
    const q = (x / 100) | 0
    const r = (x - q * 100) << 1
    buf[--i] = PAIRS[r + 1]!
    buf[--i] = PAIRS[r]!
    x = q
  }
  if (x >= 10) {
    buf[--i] = PAIRS[(x << 1) + 1]!
    buf[--i] = PAIRS[x << 1]!
  } else buf[--i] = 0x30 + x
  return at + digits
}

const writeBigDigits = (buf: Uint8Array, at: number, n: number): number => {
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
