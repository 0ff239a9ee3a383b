import * as zlib from 'node:zlib'
import type { EventHead } from '../core/event.js'

// The records of a segment file. Payloads are event heads stored as bytes, never parsed. Two
// kinds share one header layout, told apart by the top bit of the first word:
//
// A block (written since format 2): many events in one record, one checksum for all of them.
//   0   u32 LE  0x80000000 | payload length
//   4   u32 LE  crc32 of bytes 8 .. 24+length (index, time, count, payload)
//   8   u48 LE  index of its first event: the event's place in the channel, 0, 1, 2, ...
//   14  u48 LE  time the channel stored it, epoch ms (for the oldest-event age)
//   20  u32 LE  count: how many events the block holds
//   24  payload: each event head followed by "\n" (heads never hold a raw newline)
//
// A single-event record (format 1, still read; written by older versions and by tests):
//   0   u32 LE  payload length (top bit clear)
//   4   u32 LE  crc32 of bytes 8 .. 20+length (index, time, payload)
//   8   u48 LE  index
//   14  u48 LE  time
//   20  payload (one event head)
//   20+length   "\n"
//
// Both end with a newline and hold no other raw newline outside payload heads, so after a corrupt
// record the next one can only start right after a newline: recovery and readers resync there.

export const HEADER = 20
export const OVERHEAD = HEADER + 1
export const BLOCK_HEADER = 24
const BLOCK_FLAG = 0x80000000
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
  for (let n = 0; n < 256; n++)
    for (let k = 1; k < 8; k++) t[k * 256 + n] = (t[(k - 1) * 256 + n]! >>> 8) ^ t[t[(k - 1) * 256 + n]! & 0xff]!
  return t
})()

// crc32 of b[from, to); with `seed`, the crc32 of the bytes before followed by these (a crc32 they
// gave: zlib's running value)
export const crc32Range = (b: Uint8Array, from: number, to: number, seed = 0): number => {
  let c = ~seed
  let i = from
  for (; i + 8 <= to; i += 8) {
    const a = c ^ (b[i]! | (b[i + 1]! << 8) | (b[i + 2]! << 16) | (b[i + 3]! << 24))
    c =
      T[1792 + (a & 0xff)]! ^
      T[1536 + ((a >>> 8) & 0xff)]! ^
      T[1280 + ((a >>> 16) & 0xff)]! ^
      T[1024 + (a >>> 24)]! ^
      T[768 + b[i + 4]!]! ^
      T[512 + b[i + 5]!]! ^
      T[256 + b[i + 6]!]! ^
      T[b[i + 7]!]!
  }
  for (; i < to; i++) c = T[(c ^ b[i]!) & 0xff]! ^ (c >>> 8)
  return (c ^ -1) >>> 0
}

export const crc32 = (b: Uint8Array): number => crc32Range(b, 0, b.length)

// zlib's crc32 (Node 20.15+, 22.2+) runs in C at GB/s (4-4.7 GB/s of CPU time on the bench's EPYC;
// a slicing-by-16 crc32 in WebAssembly reached 2.1: BENCHMARKS.md, branch chan4); one call per block
// makes its call cost nothing. Older Node falls back to the JavaScript one (same values).
const nativeCrc = (zlib as { crc32?: (data: Uint8Array, value?: number) => number }).crc32
export const blockCrc = nativeCrc
  ? (b: Buffer, from: number, to: number, seed = 0): number => nativeCrc(b.subarray(from, to), seed)
  : crc32Range

// The size of the block record holding these heads.
export const blockSize = (heads: readonly EventHead[]): number => {
  let total = BLOCK_HEADER
  for (let i = 0; i < heads.length; i++) {
    const h = heads[i]!
    total += (typeof h === 'string' ? Buffer.byteLength(h) : h.length) + 1
  }
  return total
}

// Encodes a batch of event heads as one block record (one copy of each head), into `into` when it
// is given and big enough (no allocation per batch).
export const encodeBlock = (heads: readonly EventHead[], firstIndex: number, time: number, into?: Buffer): Buffer => {
  const total = blockSize(heads)
  const out = into && into.length >= total ? into.subarray(0, total) : Buffer.allocUnsafe(total)
  let at = BLOCK_HEADER
  for (let i = 0; i < heads.length; i++) {
    const h = heads[i]!
    if (typeof h === 'string') at += out.write(h, at, 'utf8')
    else {
      out.set(h, at)
      at += h.length
    }
    out[at++] = 0x0a
  }
  writeBlockHeader(out, firstIndex, time, heads.length)
  return out
}

// The same block from heads already laid out as its payload (each followed by "\n", `count` of
// them: a reader's InputOptions.lines 'heads' batch): one copy for the whole block.
export const encodeBlockLines = (lines: Buffer, count: number, firstIndex: number, time: number, into?: Buffer): Buffer => {
  const total = BLOCK_HEADER + lines.length
  const out = into && into.length >= total ? into.subarray(0, total) : Buffer.allocUnsafe(total)
  out.set(lines, BLOCK_HEADER)
  writeBlockHeader(out, firstIndex, time, count)
  return out
}

const writeBlockHeader = (out: Buffer, firstIndex: number, time: number, count: number): void => {
  writeBlockFields(out, out.length - BLOCK_HEADER, firstIndex, time, count)
  out.writeUInt32LE(blockCrc(out, 8, out.length), 4)
}

const writeBlockFields = (out: Buffer, payload: number, firstIndex: number, time: number, count: number): void => {
  out.writeUInt32LE((BLOCK_FLAG | payload) >>> 0, 0)
  out.writeUIntLE(firstIndex, 8, 6)
  out.writeUIntLE(time, 14, 6)
  out.writeUInt32LE(count, 20)
}

// The same block as a header of its own (into `header`, BLOCK_HEADER bytes) to be written with the
// lines as they lie (one write of both, no copy of the lines): the bytes are those of
// encodeBlockLines().
export const blockHeaderOf = (header: Buffer, lines: Buffer, count: number, firstIndex: number, time: number): Buffer => {
  writeBlockFields(header, lines.length, firstIndex, time, count)
  header.writeUInt32LE(blockCrc(lines, 0, lines.length, blockCrc(header, 8, BLOCK_HEADER)), 4)
  return header
}

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
  index: number // index of its (first) event
  count: number // events in it: 1 for a single-event record
  time: number
  block: boolean
  payload: Buffer // a block: heads each followed by "\n"; a single record: the head
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
  const word = buf.readUInt32LE(at)
  if (word & BLOCK_FLAG) {
    const n = word & ~BLOCK_FLAG
    if (n > MAX_PAYLOAD || n < 2) return { kind: 'corrupt' }
    const size = BLOCK_HEADER + n
    if (end - at < size) return { kind: 'partial', need: size }
    const count = buf.readUInt32LE(at + 20)
    if (count < 1 || count > n / 2 || buf[at + size - 1] !== 0x0a) return { kind: 'corrupt' }
    if (blockCrc(buf, at + 8, at + size) !== buf.readUInt32LE(at + 4)) return { kind: 'corrupt' }
    return {
      kind: 'ok',
      record: {
        index: buf.readUIntLE(at + 8, 6),
        count,
        time: buf.readUIntLE(at + 14, 6),
        block: true,
        payload: buf.subarray(at + BLOCK_HEADER, at + size),
        start: at,
        end: at + size,
      },
    }
  }
  const n = word
  if (n > MAX_PAYLOAD) return { kind: 'corrupt' }
  const size = OVERHEAD + n
  if (end - at < size) return { kind: 'partial', need: size }
  if (buf[at + HEADER + n] !== 0x0a) return { kind: 'corrupt' }
  if (crc32Range(buf, at + 8, at + HEADER + n) !== buf.readUInt32LE(at + 4)) return { kind: 'corrupt' }
  return {
    kind: 'ok',
    record: {
      index: buf.readUIntLE(at + 8, 6),
      count: 1,
      time: buf.readUIntLE(at + 14, 6),
      block: false,
      payload: buf.subarray(at + HEADER, at + HEADER + n),
      start: at,
      end: at + size,
    },
  }
}

// The event heads of a checked record from index `from` on, as one view of its bytes (each head
// followed by "\n"; no copy), and how many they are. A single-event record's newline follows its
// payload, so its view is the payload and that newline.
export const linesOf = (record: Record, from: number): { lines: Buffer; count: number } => {
  const skip = from - record.index
  if (skip <= 0) return { lines: withNewline(record), count: record.count }
  if (skip >= record.count) return { lines: record.payload.subarray(0, 0), count: 0 }
  const p = record.payload
  let at = 0
  for (let k = 0; k < skip; k++) at = p.indexOf(0x0a, at) + 1
  return { lines: p.subarray(at), count: record.count - skip }
}

const withNewline = (record: Record): Buffer =>
  record.block ? record.payload : Buffer.from(record.payload.buffer, record.payload.byteOffset, record.payload.length + 1)

// Calls `each` with every head of a run of lines (from linesOf): for a stage that looks at events
// one by one (a filter); forwarding stages pass the run on whole.
export const forEachLine = (lines: Buffer, each: (head: Buffer) => void): void => {
  let at = 0
  while (at < lines.length) {
    const nl = lines.indexOf(0x0a, at)
    each(lines.subarray(at, nl))
    at = nl + 1
  }
}

// The size of the record at `at` from its header alone (no checksum), or 0 if the header cannot
// be one; and the index after it. For walking a segment quickly (the end of the log for --stat).
export const peekRecord = (buf: Buffer, at: number): { size: number; next: number } => {
  if (at + HEADER > buf.length) return { size: 0, next: 0 }
  const word = buf.readUInt32LE(at)
  const block = (word & BLOCK_FLAG) !== 0
  const n = block ? word & ~BLOCK_FLAG : word
  if (n > MAX_PAYLOAD || (block && at + BLOCK_HEADER > buf.length)) return { size: 0, next: 0 }
  const count = block ? buf.readUInt32LE(at + 20) : 1
  return { size: (block ? BLOCK_HEADER : OVERHEAD) + n, next: buf.readUIntLE(at + 8, 6) + count }
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
