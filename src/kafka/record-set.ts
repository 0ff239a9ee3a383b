// The records of one partition in a Fetch response (record batches v2), decoded in one pass into
// columns: where each record's key, value and headers are in the batch's bytes, its offset and its
// timestamp. kafkajs makes a message object, two Longs, a headers object and several Decoders and
// Buffers per record; here a fetch of any size is a dozen typed arrays, and consumers read the bytes
// where they are (collect renders event heads straight from them, src/sources/kafka/record-heads.ts).
//
// The decoder is strict: anything it does not read exactly as kafkajs would (another magic, a
// batch or record that does not fit, offsets or timestamps past 2^53) makes it give up, and the
// caller decodes those bytes with kafkajs instead (kafkajs-patches.ts), so odd input behaves as it
// always did. Compressed batches go through kafkajs' codec registry (gzip, and snappy, lz4, zstd
// from codecs.ts). Like kafkajs, CRCs are not checked.
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
type Codec = { decompress(buffer: Buffer): Promise<Buffer> }
const { lookupCodecByAttributes } = require('kafkajs/src/protocol/message/compression') as {
  lookupCodecByAttributes(attributes: number): Codec | null
}

const TIMESTAMP_TYPE_FLAG = 0x8
const TRANSACTIONAL_FLAG = 0x10
const CONTROL_FLAG = 0x20
// kafkajs' least bytes for another batch (its RECORD_BATCH_OVERHEAD), and the batch header
const BATCH_OVERHEAD = 49
const BATCH_HEADER = 61

// Thrown where the bytes are not what this decoder reads exactly as kafkajs does.
export class NotDecodable extends Error {}
const give = (what: string): never => {
  throw new NotDecodable(what)
}

// A kafkajs message, for the few consumers that want objects (and the tests that compare them).
export interface DecodedMessage {
  magicByte: number
  attributes: number
  timestamp: string
  offset: string
  key: Buffer | null
  value: Buffer | null
  headers: Record<string, Buffer | null | (Buffer | null)[]>
  isControlRecord: boolean
  batchContext: { firstOffset: string; producerId: string; inTransaction: boolean; isControlBatch: boolean }
}

export class RecordSet {
  length = 0
  // per batch
  batches = 0
  buffers: Buffer[] = []
  attributes = new Int16Array(4)
  producerIds: string[] = []
  firstOffsets: string[] = []
  // per record: its batch, where key and value start in its batch's buffer and how long they are
  // (-1: null), where its headers (their count) start, its offset and its timestamp
  batchOf: Int32Array
  keyAt: Int32Array
  keyLength: Int32Array
  valueAt: Int32Array
  valueLength: Int32Array
  headersAt: Int32Array
  offsets: Float64Array
  timestamps: Float64Array
  // the messages as kafkajs decoded them (older message formats, or bytes this decoder gave up
  // on): the columns are then unused
  legacy?: DecodedMessage[]

  constructor(capacity = 64) {
    this.batchOf = new Int32Array(capacity)
    this.keyAt = new Int32Array(capacity)
    this.keyLength = new Int32Array(capacity)
    this.valueAt = new Int32Array(capacity)
    this.valueLength = new Int32Array(capacity)
    this.headersAt = new Int32Array(capacity)
    this.offsets = new Float64Array(capacity)
    this.timestamps = new Float64Array(capacity)
  }

  bufferOf(i: number): Buffer {
    return this.buffers[this.batchOf[i]!]!
  }

  isControl(i: number): boolean {
    return (this.attributes[this.batchOf[i]!]! & CONTROL_FLAG) !== 0
  }

  inTransaction(i: number): boolean {
    return (this.attributes[this.batchOf[i]!]! & TRANSACTIONAL_FLAG) !== 0
  }

  producerId(i: number): string {
    return this.producerIds[this.batchOf[i]!]!
  }

  // offsets are exact integers below 2^53 (the decoder gives up on larger ones)
  offset(i: number): string {
    return this.legacy ? this.legacy[i]!.offset : String(this.offsets[i]!)
  }

  key(i: number): Buffer | null {
    if (this.legacy) return this.legacy[i]!.key ?? null
    const n = this.keyLength[i]!
    return n < 0 ? null : this.bufferOf(i).subarray(this.keyAt[i]!, this.keyAt[i]! + n)
  }

  value(i: number): Buffer | null {
    if (this.legacy) return this.legacy[i]!.value ?? null
    const n = this.valueLength[i]!
    return n < 0 ? null : this.bufferOf(i).subarray(this.valueAt[i]!, this.valueAt[i]! + n)
  }

  // Record i as kafkajs makes it (headers as its object: a repeated name becomes an array).
  message(i: number): DecodedMessage {
    const legacy = this.legacy?.[i]
    if (legacy) return legacy
    const buf = this.bufferOf(i)
    let headers: DecodedMessage['headers'] = {}
    const cur = { at: this.headersAt[i]! }
    const count = readVarIntAt(buf, cur)
    for (let h = 0; h < count; h++) {
      const nameLength = readVarIntAt(buf, cur)
      const name = nameLength < 0 ? 'null' : buf.toString('utf8', cur.at, (cur.at += nameLength))
      const valueLength = readVarIntAt(buf, cur)
      const value = valueLength < 0 ? null : buf.subarray(cur.at, (cur.at += valueLength))
      // kafkajs' very expression (a name like "constructor" meets Object.prototype there too)
      const obj = headers as Record<string, unknown>
      headers = {
        ...headers,
        [name]: obj[name] === undefined ? value : Array.isArray(obj[name]) ? (obj[name] as unknown[]).concat([value]) : [obj[name], value],
      } as DecodedMessage['headers']
    }
    const b = this.batchOf[i]!
    const attributes = this.attributes[b]!
    return {
      magicByte: 2,
      attributes: 0,
      timestamp: String(this.timestamps[i]!),
      offset: this.offset(i),
      key: this.key(i),
      value: this.value(i),
      headers,
      isControlRecord: (attributes & CONTROL_FLAG) !== 0,
      batchContext: {
        firstOffset: this.firstOffsets[b]!,
        producerId: this.producerIds[b]!,
        inTransaction: (attributes & TRANSACTIONAL_FLAG) !== 0,
        isControlBatch: (attributes & CONTROL_FLAG) !== 0,
      },
    }
  }

  private grow(): void {
    const n = this.batchOf.length * 2
    const more = <T extends Int32Array | Float64Array>(a: T): T => {
      const b = new (a.constructor as new (n: number) => T)(n)
      b.set(a)
      return b
    }
    this.batchOf = more(this.batchOf)
    this.keyAt = more(this.keyAt)
    this.keyLength = more(this.keyLength)
    this.valueAt = more(this.valueAt)
    this.valueLength = more(this.valueLength)
    this.headersAt = more(this.headersAt)
    this.offsets = more(this.offsets)
    this.timestamps = more(this.timestamps)
  }

  // Adds a batch; returns its index.
  addBatch(buffer: Buffer, attributes: number, producerId: string, firstOffset: string): number {
    if (this.batches === this.attributes.length) {
      const a = new Int16Array(this.batches * 2)
      a.set(this.attributes)
      this.attributes = a
    }
    this.buffers.push(buffer)
    this.attributes[this.batches] = attributes
    this.producerIds.push(producerId)
    this.firstOffsets.push(firstOffset)
    return this.batches++
  }

  // Adds a record (its fields as decoded); returns its index.
  addRecord(batch: number, keyAt: number, keyLength: number, valueAt: number, valueLength: number, headersAt: number): number {
    const i = this.length
    if (i === this.batchOf.length) this.grow()
    this.batchOf[i] = batch
    this.keyAt[i] = keyAt
    this.keyLength[i] = keyLength
    this.valueAt[i] = valueAt
    this.valueLength[i] = valueLength
    this.headersAt[i] = headersAt
    this.length = i + 1
    return i
  }
}

// kafkajs' varint arithmetic (zigzag of up to five 7-bit groups), bounds checked.
const readVarIntAt = (buf: Buffer, cur: { at: number }): number => {
  let result = 0
  let shift = 0
  let byte: number
  do {
    if (cur.at >= buf.length || shift > 28) give('varint')
    byte = buf[cur.at++]!
    result += (byte & 0x7f) << shift
    shift += 7
  } while (byte >= 0x80)
  return (result >>> 1) ^ -(result & 1)
}

// The decoder's cursor: a module variable, not an object per read (decoding never interleaves:
// everything between two awaits is synchronous).
let at = 0
let limit = 0

const varint = (buf: Buffer): number => {
  let result = 0
  let shift = 0
  let byte: number
  do {
    if (at >= limit || shift > 28) give('varint')
    byte = buf[at++]!
    result += (byte & 0x7f) << shift
    shift += 7
  } while (byte >= 0x80)
  return (result >>> 1) ^ -(result & 1)
}

// A zigzag varlong as a number; more than seven groups (|v| ≥ 2^48) is left to kafkajs' Longs.
const varlong = (buf: Buffer): number => {
  let result = 0
  let scale = 1
  let byte: number
  let groups = 0
  do {
    if (at >= limit || ++groups > 7) give('varlong')
    byte = buf[at++]!
    result += (byte & 0x7f) * scale
    scale *= 128
  } while (byte >= 0x80)
  return result % 2 === 0 ? result / 2 : -(result + 1) / 2
}

// varint-length bytes: their length (-1: null), `at` moved past them
const skipBytes = (buf: Buffer): number => {
  const n = varint(buf)
  if (n < -1 || at + n > limit) give('bytes')
  if (n > 0) at += n
  return n
}

const int64 = (buf: Buffer, pos: number): number => {
  const v = buf.readBigInt64BE(pos)
  if (v > 9007199254740991n || v < -9007199254740991n) give('int64')
  return Number(v)
}

// One record of batch b ([at, end) of buf holds its length and fields). A batch stamped with the
// log's append time gives every record that time (appendTime ≥ 0), as kafkajs does.
const record = (set: RecordSet, b: number, buf: Buffer, end: number, firstOffset: number, firstTimestamp: number, appendTime: number) => {
  limit = end
  const length = varint(buf)
  if (length < 0 || at + length > end) give('record length')
  limit = at + length
  const next = limit
  at++ // attributes (unused, as in kafkajs)
  const timestampDelta = varlong(buf)
  const offsetDelta = varint(buf)
  const keyLength = skipBytes(buf)
  const keyAt = at - Math.max(keyLength, 0)
  const valueLength = skipBytes(buf)
  const valueAt = at - Math.max(valueLength, 0)
  const headersAt = at
  const headers = varint(buf)
  if (headers < -1) give('header count')
  for (let h = 0; h < headers; h++) {
    skipBytes(buf)
    skipBytes(buf)
  }
  const i = set.addRecord(b, keyAt, keyLength, valueAt, valueLength, headersAt)
  const offset = firstOffset + offsetDelta
  const timestamp = appendTime >= 0 ? appendTime : firstTimestamp + timestampDelta
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(timestamp)) give('offset or timestamp')
  set.offsets[i] = offset
  set.timestamps[i] = timestamp
  at = next
}

// The record batches of buf[start, end) (a partition's record set) into a RecordSet; a batch cut
// off at the end (a fetch stops at its byte limit) ends it, as in kafkajs. Throws NotDecodable
// where kafkajs must decode the bytes instead.
export const decodeRecordSet = async (buf: Buffer, start: number, end: number): Promise<RecordSet> => {
  if (end - start <= 16 || buf[start + 16] !== 2) give('not record batches v2')
  const set = new RecordSet(Math.max(16, Math.min(65536, (end - start) >> 6)))
  let pos = start
  while (end - pos >= BATCH_OVERHEAD) {
    const length = buf.readInt32BE(pos + 8)
    const batchEnd = pos + 12 + length
    if (batchEnd > end) break // the partial batch at the end of a fetch
    if (length < BATCH_HEADER - 12 || buf[pos + 16] !== 2) give('batch header')
    const attributes = buf.readInt16BE(pos + 21)
    const firstOffset = int64(buf, pos)
    const firstTimestamp = int64(buf, pos + 27)
    // records stamped with the log's append time all have the batch's max timestamp
    const appendTime = attributes & TIMESTAMP_TYPE_FLAG ? int64(buf, pos + 35) : -1
    if (appendTime < 0 && attributes & TIMESTAMP_TYPE_FLAG) give('negative append time')
    const producerId = buf.readBigInt64BE(pos + 43).toString()
    const count = buf.readInt32BE(pos + 57)
    const codec = lookupCodecByAttributes(attributes)
    let records = buf
    let from = pos + BATCH_HEADER
    let to = batchEnd
    if (codec) {
      if (count > 0) {
        records = await codec.decompress(buf.subarray(from, batchEnd))
        from = 0
        to = records.length
      }
    } else if (count < -1) give('record count')
    const b = set.addBatch(records, attributes, producerId, String(firstOffset))
    at = from
    for (let r = 0; r < count; r++) record(set, b, records, to, firstOffset, firstTimestamp, appendTime)
    pos = batchEnd
  }
  return set
}

// The messages kafkajs decoded (older message formats, or bytes this decoder gave up on).
export const recordSetFromMessages = (messages: DecodedMessage[]): RecordSet => {
  const set = new RecordSet(1)
  set.legacy = messages
  set.length = messages.length
  return set
}
