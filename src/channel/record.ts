import type { EventHead } from '../core/event.js'

// One record of a segment file (DESIGN.md §4): an event head stored as bytes, never parsed.
//
//   0   u32 LE  payload length
//   4   u32 LE  crc32 of bytes 8 .. 20+length (index, time, payload)
//   8   u48 LE  index: the event's place in the channel, 0, 1, 2, ... across segments
//   14  u48 LE  time the channel stored it, epoch ms (for the oldest-event age)
//   20  payload (the event head: JSON without its closing brace, no newline inside)
//   20+length   "\n"
//
// The trailing newline lets recovery find the next record after a corrupt one: payloads never
// contain a raw newline, so a record can only start right after one.

export const HEADER = 20
export const OVERHEAD = HEADER + 1
// anything longer is a corrupt length field, not a record (EventInput frames lines far below it)
export const MAX_PAYLOAD = 256 * 1024 * 1024

// crc32 (IEEE, as zlib and gzip) by slicing-by-8 in JavaScript: for records of a few hundred
// bytes it beats node:zlib's crc32, whose per-call cost dominates (measured: docs/channel.md).
const T = (() => {
  const t = new Int32Array(256 * 8)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c
  }
  for (let n = 0; n < 256; n++) for (let k = 1; k < 8; k++) t[k * 256 + n] = (t[(k - 1) * 256 + n]! >>> 8) ^ t[t[(k - 1) * 256 + n]! & 0xff]!
  return t
})()

// crc32 of b[from, to)
export const crc32Range = (b: Uint8Array, from: number, to: number): number => {
  let c = -1
  let i = from
  for (; i + 8 <= to; i += 8) {
    const a = c ^ (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24))
    c =
      T[1792 + (a & 0xff)]! ^ T[1536 + ((a >>> 8) & 0xff)]! ^ T[1280 + ((a >>> 16) & 0xff)]! ^ T[1024 + (a >>> 24)]! ^
      T[768 + b[i + 4]!]! ^ T[512 + b[i + 5]!]! ^ T[256 + b[i + 6]!]! ^ T[b[i + 7]!]!
  }
  for (; i < to; i++) c = T[(c ^ b[i]!) & 0xff]! ^ (c >>> 8)
  return (c ^ -1) >>> 0
}

export const crc32 = (b: Uint8Array): number => crc32Range(b, 0, b.length)

// Encodes event heads as records, one buffer for the whole batch (one write, one copy). With a
// scratch buffer big enough, encodes into it (no allocation per batch: the caller writes it out
// before the next batch).
export const encodeRecords = (heads: readonly EventHead[], firstIndex: number, time: number, scratch?: Buffer): Buffer => {
  let total = 0
  const lengths = new Array<number>(heads.length)
  for (let i = 0; i < heads.length; i++) {
    const h = heads[i]!
    const n = typeof h === 'string' ? Buffer.byteLength(h) : h.length
    lengths[i] = n
    total += OVERHEAD + n
  }
  const out = scratch && scratch.length >= total ? scratch.subarray(0, total) : Buffer.allocUnsafe(total)
  let at = 0
  for (let i = 0; i < heads.length; i++) {
    const h = heads[i]!
    const n = lengths[i]!
    out.writeUInt32LE(n, at)
    out.writeUIntLE(firstIndex + i, at + 8, 6)
    out.writeUIntLE(time, at + 14, 6)
    if (typeof h === 'string') out.write(h, at + HEADER, n, 'utf8')
    else out.set(h, at + HEADER)
    out.writeUInt32LE(crc32Range(out, at + 8, at + HEADER + n), at + 4)
    out[at + HEADER + n] = 0x0a
    at += OVERHEAD + n
  }
  return out
}

export interface Record {
  index: number
  time: number
  payload: Buffer
  start: number // offset of the record in the buffer
  end: number // offset just after it
}

export type Check =
  | { kind: 'ok'; record: Record }
  | { kind: 'partial'; need: number } // the buffer ends inside the record: need this many bytes from start
  | { kind: 'corrupt' }

// Checks the record starting at `at` in buf[0, end).
export const checkRecord = (buf: Buffer, at: number, end: number): Check => {
  if (end - at < HEADER) return { kind: 'partial', need: HEADER }
  const n = buf.readUInt32LE(at)
  if (n > MAX_PAYLOAD) return { kind: 'corrupt' }
  const size = OVERHEAD + n
  if (end - at < size) return { kind: 'partial', need: size }
  if (buf[at + HEADER + n] !== 0x0a) return { kind: 'corrupt' }
  if (crc32Range(buf, at + 8, at + HEADER + n) !== buf.readUInt32LE(at + 4)) return { kind: 'corrupt' }
  return {
    kind: 'ok',
    record: {
      index: buf.readUIntLE(at + 8, 6),
      time: buf.readUIntLE(at + 14, 6),
      payload: buf.subarray(at + HEADER, at + HEADER + n),
      start: at,
      end: at + size,
    },
  }
}

// After a corrupt record at `from`: the start of the next whole, valid record in buf[0, end), or
// -1. Candidates are the bytes right after a newline.
export const resync = (buf: Buffer, from: number, end: number): number => {
  let at = from
  while (true) {
    const nl = buf.indexOf(0x0a, at)
    if (nl === -1 || nl + 1 >= end) return -1
    const check = checkRecord(buf, nl + 1, end)
    if (check.kind === 'ok') return nl + 1
    at = nl + 1
  }
}
