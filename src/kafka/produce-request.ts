// A Produce request (v3 and later: record batches v2) encoded in one pass into one buffer of the
// exact size, framing included. kafkajs builds each level (record, batch, partition, topic,
// request, size prefix) in its own growing Encoder and copies it into the next: most of ship's
// CPU and garbage. Same bytes as kafkajs for the messages ship sends (no per-message timestamp:
// every record is stamped with the batch's time, as kafkajs does); a send with timestamps is
// left to kafkajs' own encoder.
import { createRequire } from 'node:module'
import { crc32c } from './crc32c.js'
import { recordTail, sizeOfUVarInt, writeVarInt, encodeRecordHeaders, type Bytes, type HeaderValues } from './record-tail.js'

const require = createRequire(import.meta.url)
type LongLike = { getHighBits(): number; getLowBits(): number }
const Long = require('kafkajs/src/utils/long') as { fromValue(v: unknown): LongLike; fromInt(v: number): LongLike }
const compressionModule = require('kafkajs/src/protocol/message/compression') as {
  lookupCodec(type: number): { compress(encoder: { buffer: Buffer }): Promise<Buffer> }
}

export interface ProduceMessage {
  key?: Bytes
  value?: Bytes
  headers?: HeaderValues
  timestamp?: unknown
  // key, value and headers already encoded (record-tail.ts); key, value and headers are then unused
  tsfTail?: Buffer
}
interface PartitionData {
  partition: number
  firstSequence?: number
  messages: ProduceMessage[]
}
interface TopicData {
  topic: string
  partitions: PartitionData[]
}
export interface ProduceArgs {
  acks: number
  timeout: number
  transactionalId?: string | null
  producerId?: unknown
  producerEpoch?: number
  compression?: number
  topicData: TopicData[]
}
export interface Framing {
  apiKey: number
  apiVersion: number
  correlationId: number
  clientId: string | null
}

// What kafkajs' connection takes from a request encoder: its bytes (`buffer`) and size().
export interface EncodedLike {
  buf: Buffer
  offset: number
  readonly buffer: Buffer
  size(): number
}
const encoded = (buf: Buffer): EncodedLike => ({
  buf,
  offset: buf.length,
  get buffer() {
    return buf
  },
  size: () => buf.length,
})

const BATCH_HEADER = 61 // first offset … record count
const sizeOfString = (s: string | null | undefined): number => 2 + (s == null ? 0 : Buffer.byteLength(s))
const writeString = (buf: Buffer, at: number, s: string | null | undefined): number => {
  if (s == null) return buf.writeInt16BE(-1, at)
  const n = Buffer.byteLength(s)
  at = buf.writeInt16BE(n, at)
  return at + buf.write(s, at, n, 'utf8')
}
const writeLong = (buf: Buffer, at: number, v: LongLike): number => {
  buf.writeInt32BE(v.getHighBits(), at)
  return buf.writeInt32BE(v.getLowBits(), at + 4)
}
const writeTimestamp = (buf: Buffer, at: number, ms: number): number => buf.writeBigInt64BE(BigInt(ms), at)

// a record: length, attributes 0, timestamp delta 0, offset delta, then its tail
const recordSize = (i: number, tail: Buffer): number => {
  const body = 2 + sizeOfUVarInt(i * 2) + tail.length
  return sizeOfUVarInt(body * 2) + body
}
const writeRecords = (buf: Buffer, at: number, tails: Buffer[]): number => {
  for (let i = 0; i < tails.length; i++) {
    const tail = tails[i]!
    at = writeVarInt(buf, at, 2 + sizeOfUVarInt(i * 2) + tail.length)
    buf[at++] = 0
    buf[at++] = 0
    at = writeVarInt(buf, at, i)
    at += tail.copy(buf, at)
  }
  return at
}

const tailOf = (m: ProduceMessage): Buffer =>
  m.tsfTail ?? recordTail(m.key, m.value, m.headers ? encodeRecordHeaders(m.headers) : undefined)

interface Part {
  partition: number
  firstSequence: number
  count: number
  // uncompressed: the tails, written straight into the request; compressed: the records' bytes
  tails?: Buffer[]
  compressed?: Buffer
  size: number // of the record batch
}

// True when this encoder writes exactly what kafkajs would (see the file comment).
export const encodable = (args: ProduceArgs): boolean =>
  args.topicData.every((t) => t.partitions.every((p) => p.messages.every((m) => m.timestamp == null)))

// The Produce request's body, or with `framing` the whole request as it goes on the socket (size
// prefix and request header included).
export const encodeProduce = async (args: ProduceArgs, framing?: Framing): Promise<EncodedLike> => {
  const compression = args.compression ?? 0
  const codec = compression ? compressionModule.lookupCodec(compression) : undefined
  const transactional = args.transactionalId != null
  const now = Date.now()
  const topics: { topic: string; parts: Part[] }[] = []
  let size = framing ? 4 + 2 + 2 + 4 + sizeOfString(framing.clientId) : 0
  size += sizeOfString(args.transactionalId) + 2 + 4 + 4
  for (const { topic, partitions } of args.topicData) {
    const parts: Part[] = []
    size += sizeOfString(topic) + 4
    for (const { partition, firstSequence = 0, messages } of partitions) {
      const tails = messages.map(tailOf)
      let records = 0
      for (let i = 0; i < tails.length; i++) records += recordSize(i, tails[i]!)
      const part: Part = { partition, firstSequence, count: tails.length, size: 0 }
      if (codec) {
        const plain = Buffer.allocUnsafe(records)
        writeRecords(plain, 0, tails)
        part.compressed = await codec.compress(encoded(plain))
        part.size = BATCH_HEADER + part.compressed.length
      } else {
        part.tails = tails
        part.size = BATCH_HEADER + records
      }
      size += 4 + 4 + part.size
      parts.push(part)
    }
    topics.push({ topic, parts })
  }

  const buf = Buffer.allocUnsafe(size)
  let at = 0
  if (framing) {
    at = buf.writeInt32BE(size - 4, at)
    at = buf.writeInt16BE(framing.apiKey, at)
    at = buf.writeInt16BE(framing.apiVersion, at)
    at = buf.writeInt32BE(framing.correlationId, at)
    at = writeString(buf, at, framing.clientId)
  }
  at = writeString(buf, at, args.transactionalId)
  at = buf.writeInt16BE(args.acks, at)
  at = buf.writeInt32BE(args.timeout, at)
  at = buf.writeInt32BE(topics.length, at)
  const producerId = Long.fromValue(args.producerId ?? Long.fromInt(-1))
  for (const { topic, parts } of topics) {
    at = writeString(buf, at, topic)
    at = buf.writeInt32BE(parts.length, at)
    for (const part of parts) {
      at = buf.writeInt32BE(part.partition, at)
      at = buf.writeInt32BE(part.size, at)
      const start = at
      at = buf.writeInt32BE(0, at) // first offset (int64 0)
      at = buf.writeInt32BE(0, at)
      at = buf.writeInt32BE(part.size - 12, at) // length of what follows
      at = buf.writeInt32BE(0, at) // partition leader epoch
      at = buf.writeInt8(2, at) // magic
      const crcAt = at
      at += 4
      at = buf.writeInt16BE((compression & 0x7) | (transactional ? 0x10 : 0), at)
      at = buf.writeInt32BE(part.count - 1, at) // last offset delta
      at = writeTimestamp(buf, at, now) // first and max timestamp
      at = writeTimestamp(buf, at, now)
      at = writeLong(buf, at, producerId)
      at = buf.writeInt16BE(args.producerEpoch ?? 0, at)
      at = buf.writeInt32BE(part.firstSequence, at)
      at = buf.writeInt32BE(part.count, at)
      at = part.compressed ? at + part.compressed.copy(buf, at) : writeRecords(buf, at, part.tails!)
      buf.writeUInt32BE(crc32c(buf.subarray(crcAt + 4, start + part.size)), crcAt)
    }
  }
  // c8 ignore next -- a size computed above and the bytes written disagree: a bug here, not input
  if (at !== size) throw new Error(`tsf: Produce request encoded ${at} bytes of ${size}`)
  return encoded(buf)
}
