import * as zlib from 'node:zlib'
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

// node:zlib has crc32 since Node 20.15; a table keeps older Node 20 releases working.
const table = (() => {
  const t = new Int32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
    t[n] = c
  }
  return t
})()
const crc32Table = (buf: Uint8Array): number => {
  let c = -1
  for (let i = 0; i < buf.length; i++) c = table[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8)
  return (c ^ -1) >>> 0
}
const native = (zlib as { crc32?: (data: Uint8Array) => number }).crc32
export const crc32: (buf: Uint8Array) => number = native ? (b) => native(b) : crc32Table

// Encodes event heads as records, one buffer for the whole batch (one write, one copy).
export const encodeRecords = (heads: readonly EventHead[], firstIndex: number, time: number): Buffer => {
  let total = 0
  const lengths = new Array<number>(heads.length)
  for (let i = 0; i < heads.length; i++) {
    const h = heads[i]!
    const n = typeof h === 'string' ? Buffer.byteLength(h) : h.length
    lengths[i] = n
    total += OVERHEAD + n
  }
  const out = Buffer.allocUnsafe(total)
  let at = 0
  for (let i = 0; i < heads.length; i++) {
    const h = heads[i]!
    const n = lengths[i]!
    out.writeUInt32LE(n, at)
    out.writeUIntLE(firstIndex + i, at + 8, 6)
    out.writeUIntLE(time, at + 14, 6)
    if (typeof h === 'string') out.write(h, at + HEADER, 'utf8')
    else h.copy(out, at + HEADER)
    out.writeUInt32LE(crc32(out.subarray(at + 8, at + HEADER + n)), at + 4)
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
  if (crc32(buf.subarray(at + 8, at + HEADER + n)) !== buf.readUInt32LE(at + 4)) return { kind: 'corrupt' }
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
