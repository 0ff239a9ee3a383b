// The part of a Kafka record (v2 format) that does not depend on its place in a batch: key, value
// and headers, as varint-length bytes. A record is its length, attributes, timestamp delta and
// offset delta followed by this tail, so a producer can encode the tail once, when the event
// arrives, and the Produce request (produce-request.ts) only copies it.

export type Bytes = Buffer | string | null | undefined
export type HeaderValues = Record<string, Bytes | Bytes[]>

// zigzag then unsigned varint (Kafka's varint), for values in int32 range
export const sizeOfVarInt = (v: number): number => sizeOfUVarInt(((v << 1) ^ (v >> 31)) >>> 0)
export const sizeOfUVarInt = (u: number): number => (u < 0x80 ? 1 : u < 0x4000 ? 2 : u < 0x200000 ? 3 : u < 0x10000000 ? 4 : 5)
export const writeVarInt = (buf: Buffer, at: number, v: number): number => {
  let u = ((v << 1) ^ (v >> 31)) >>> 0
  while (u >= 0x80) {
    buf[at++] = (u & 0x7f) | 0x80
    u >>>= 7
  }
  buf[at++] = u
  return at
}

const byteLength = (v: Bytes): number => (v == null ? 0 : typeof v === 'string' ? Buffer.byteLength(v) : v.length)
// a varint length (-1: null) and the bytes
const sizeOfBytes = (v: Bytes): number => (v == null ? 1 : sizeOfVarInt(byteLength(v)) + byteLength(v))
const writeBytes = (buf: Buffer, at: number, v: Bytes): number => {
  if (v == null) return writeVarInt(buf, at, -1)
  if (typeof v === 'string') {
    const n = Buffer.byteLength(v)
    at = writeVarInt(buf, at, n)
    return at + buf.write(v, at, n, 'utf8')
  }
  at = writeVarInt(buf, at, v.length)
  return at + v.copy(buf, at)
}

// A record's headers section (count, then name and value of each; an array value is one header
// per element, as kafkajs writes them).
export const encodeRecordHeaders = (headers: HeaderValues | undefined): Buffer => {
  const pairs: [string, Bytes][] = []
  if (headers)
    for (const name of Object.keys(headers)) {
      const v = headers[name]
      if (Array.isArray(v)) for (const one of v) pairs.push([name, one])
      else pairs.push([name, v])
    }
  let size = sizeOfVarInt(pairs.length)
  for (const [name, v] of pairs) size += sizeOfBytes(name) + sizeOfBytes(v)
  const buf = Buffer.allocUnsafe(size)
  let at = writeVarInt(buf, 0, pairs.length)
  for (const [name, v] of pairs) at = writeBytes(buf, writeBytes(buf, at, name), v)
  return buf
}

const NO_HEADERS = Buffer.from([0])

// key, value, then the headers section already encoded (encodeRecordHeaders; events of one
// stream share theirs)
export const recordTail = (key: Bytes, value: Bytes, headers: Buffer = NO_HEADERS): Buffer => {
  const buf = Buffer.allocUnsafe(sizeOfBytes(key) + sizeOfBytes(value) + headers.length)
  headers.copy(buf, writeBytes(buf, writeBytes(buf, 0, key), value))
  return buf
}
