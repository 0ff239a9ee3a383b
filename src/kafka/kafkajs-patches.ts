// tsf's changes to kafkajs 2.2.4 (pinned; in maintenance mode), made by putting our versions of
// some of its internal modules into Node's module cache before kafkajs loads them. Imported for
// its effect by client.ts only. Each patch keeps kafkajs' wire bytes and behaviour except where said.
import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { crc32c } from './crc32c.js'
import { FetchBatch } from './fetch-batch.js'
import { encodable, encodeProduce, type ProduceArgs } from './produce-request.js'
import { decodeRecordSet, NotDecodable, RecordSet, type DecodedMessage } from './record-set.js'

const require = createRequire(import.meta.url)
type CompilableModule = NodeJS.Module & { _compile(code: string, file: string): void }
const NodeModule = require('node:module') as { new (id: string): CompilableModule; _nodeModulePaths(dir: string): string[] }

// Puts `exports` in the module cache slot of a kafkajs file (unless something loaded it already).
const provide = (request: string, exports: unknown): void => {
  const path = require.resolve(request)
  if (require.cache[path]) return
  const slot = new NodeModule(path)
  slot.filename = path
  slot.loaded = true
  slot.exports = exports
  require.cache[path] = slot
}

// Compiles a kafkajs file with edits to its source.
const patchModule = (request: string, edit: (source: string) => string): void => {
  const path = require.resolve(request)
  if (require.cache[path]) return
  const slot = new NodeModule(path)
  slot.filename = path
  slot.paths = NodeModule._nodeModulePaths(dirname(path))
  slot._compile(edit(readFileSync(path, 'utf8')), path)
  slot.loaded = true
  require.cache[path] = slot
}

// kafkajs 2.2.4 groups a send's messages per partition with `[...current, message]` for every
// message: O(n²) in the messages per partition, half of ship's CPU at 10 000 per send. We put a
// linear grouping with the same result in its module cache slot before kafkajs loads it.
interface Grouping {
  topic: string
  partitionMetadata: unknown[]
  messages: unknown[]
  partitioner: (args: { topic: string; partitionMetadata: unknown[]; message: unknown }) => number
}
const groupMessagesPerPartition = ({ topic, partitionMetadata, messages, partitioner }: Grouping): Record<number, unknown[]> => {
  const result: Record<number, unknown[]> = {}
  if (partitionMetadata.length === 0) return result
  for (const message of messages) {
    const partition = partitioner({ topic, partitionMetadata, message })
    ;(result[partition] ??= []).push(message)
  }
  return result
}
provide('kafkajs/src/producer/groupMessagesPerPartition.js', groupMessagesPerPartition)

// Pipelining with the idempotent producer. kafkajs 2.2.4 holds a per-broker lock from assigning a
// partition's sequence numbers until the broker *answered*: one Produce request in flight per
// broker, whatever maxInFlightRequests says. Kafka keeps the order of up to 5 in-flight requests of
// an idempotent producer, so the order that matters is the order requests reach the socket. We
// compile kafkajs' sendMessages with two changes: (1) the lock is released once the request is
// encoded and queued on the connection (Produce encodes run one after another, in the order they
// were started, so socket order = sequence order); (2) a failed produce is not retried inside
// kafkajs (its retry would roll back sequence numbers that later in-flight requests already use):
// the caller starts a fresh producer (new producer id, sequences from 0) and re-sends in order.
const PRODUCE_ENCODED = Symbol.for('tsf.kafka.produceEncoded')
export const SEND_QUEUED = Symbol.for('tsf.kafka.sendQueued')
type Slot = { [PRODUCE_ENCODED]?: () => void }
const replaceOnce = (source: string, from: string, to: string): string => {
  // c8 ignore next 2 -- only if kafkajs changed under us (the version is pinned in package.json)
  if (!source.includes(from)) throw new Error(`tsf: kafkajs is not the version tsf patches (missing: ${from.trim().slice(0, 60)})`)
  return source.replace(from, to)
}
patchModule('kafkajs/src/producer/sendMessages.js', (source) => {
  // (3) a send tells when all its requests are queued (SEND_QUEUED, taken at its synchronous
  // start): the next send must not take a broker's lock before it, or its records would get the
  // partition's earlier sequence numbers
  let s = replaceOnce(
    source,
    `  return async ({ acks, timeout, compression, topicMessages }) => {\n`,
    `  return async ({ acks, timeout, compression, topicMessages }) => {\n    const tsfQueued = globalThis[Symbol.for('tsf.kafka.sendQueued')] || (() => {})\n    globalThis[Symbol.for('tsf.kafka.sendQueued')] = undefined\n    let tsfPending = 0\n`,
  )
  s = replaceOnce(
    s,
    `      return brokersWithoutResponse.map(async broker => {\n`,
    `      tsfPending = brokersWithoutResponse.length\n      if (tsfPending === 0) tsfQueued()\n      return brokersWithoutResponse.map(async broker => {\n`,
  )
  s = replaceOnce(
    s,
    `        await eosManager.acquireBrokerLock(broker)\n`,
    `        await eosManager.acquireBrokerLock(broker)\n        let locked = true\n        const unlock = () => { if (locked) { locked = false; eosManager.releaseBrokerLock(broker); if (--tsfPending === 0) tsfQueued() } }\n`,
  )
  s = replaceOnce(
    s,
    `          let response\n`,
    `          let response\n          globalThis[Symbol.for('tsf.kafka.produceEncoded')] = unlock\n`,
  )
  s = replaceOnce(s, `          await eosManager.releaseBrokerLock(broker)\n`, `          unlock()\n`)
  s = replaceOnce(
    s,
    `      } catch (e) {\n        if (e.name === 'KafkaJSConnectionClosedError') {`,
    `      } catch (e) {\n        tsfQueued()\n        if (e.name !== 'KafkaJSMetadataNotLoaded') {\n          bail(e)\n          return\n        }\n        if (e.name === 'KafkaJSConnectionClosedError') {`,
  )
  return s
})
{
  const path = require.resolve('kafkajs/src/protocol/request.js')
  const createRequest = require(path) as (args: { request: { apiKey: number } }) => Promise<unknown>
  let lastProduce: Promise<unknown> = Promise.resolve()
  require.cache[path]!.exports = (args: { request: { apiKey: number } }): Promise<unknown> => {
    if (args.request.apiKey !== 0) return createRequest(args)
    const slot = globalThis as Slot
    const encoded = slot[PRODUCE_ENCODED]
    slot[PRODUCE_ENCODED] = undefined
    const framed = (args.request as { [FRAMED]?: (correlationId: number, clientId: string) => Promise<unknown> })[FRAMED]
    const { correlationId, clientId } = args as unknown as { correlationId: number; clientId: string }
    const encoding = lastProduce.then(() => (framed ? framed(correlationId, clientId) : createRequest(args)))
    lastProduce = encoding.catch(() => undefined)
    encoding.then(encoded, encoded)
    return encoding
  }
}

// Records without per-record Encoders. kafkajs builds each record in a fresh zero-filled 512-byte
// Encoder that grows by copying (and one more Encoder per header): most of a send's CPU and
// garbage. This writes the same bytes into one buffer of the exact size, from Node's pool.
interface EncoderLike {
  buf: Buffer
  offset: number
  writeVarInt(v: number): EncoderLike
  writeVarLong(v: number): EncoderLike
  writeInt8(v: number): EncoderLike
  writeVarIntBytes(v: Buffer | string | null): EncoderLike
  writeVarIntString(v: string): EncoderLike
}
interface EncoderClass {
  prototype: EncoderLike
  sizeOfVarInt(v: number): number
  sizeOfVarLong(v: number): number
  sizeOfVarIntBytes(v: Buffer | string | null | undefined): number
}
const Encoder = require('kafkajs/src/protocol/encoder.js') as EncoderClass
type HeaderValue = Buffer | string | null
interface RecordArgs {
  offsetDelta?: number
  timestampDelta?: number
  key?: Buffer | string | null
  value?: Buffer | string | null
  headers?: Record<string, HeaderValue | HeaderValue[]>
}
const exactEncoder = (size: number): EncoderLike => {
  const encoder = Object.create(Encoder.prototype) as EncoderLike
  encoder.buf = Buffer.allocUnsafe(size)
  encoder.offset = 0
  return encoder
}
const record = ({ offsetDelta = 0, timestampDelta = 0, key, value, headers = {} }: RecordArgs): EncoderLike => {
  const pairs: [string, HeaderValue][] = []
  for (const name of Object.keys(headers)) {
    const v = headers[name]!
    if (Array.isArray(v)) for (const one of v) pairs.push([name, one])
    else pairs.push([name, v])
  }
  let headersSize = Encoder.sizeOfVarInt(pairs.length)
  for (const [name, v] of pairs) headersSize += Encoder.sizeOfVarIntBytes(name) + Encoder.sizeOfVarIntBytes(v)
  const body =
    1 +
    Encoder.sizeOfVarLong(timestampDelta) +
    Encoder.sizeOfVarInt(offsetDelta) +
    Encoder.sizeOfVarIntBytes(key) +
    Encoder.sizeOfVarIntBytes(value) +
    headersSize
  const e = exactEncoder(Encoder.sizeOfVarInt(body) + body)
  e.writeVarInt(body)
    .writeInt8(0)
    .writeVarLong(timestampDelta)
    .writeVarInt(offsetDelta)
    .writeVarIntBytes(key ?? null)
    .writeVarIntBytes(value ?? null)
  e.writeVarInt(pairs.length)
  for (const [name, v] of pairs) e.writeVarIntString(name).writeVarIntBytes(v)
  return e
}
provide('kafkajs/src/protocol/recordBatch/record/v0/index.js', record)

// CRC-32C of a record batch, 8 bytes per step (src/kafka/crc32c.ts) instead of kafkajs' byte at a time.
export { crc32c }
provide('kafkajs/src/protocol/recordBatch/crc32C/index.js', crc32c)

// Produce requests encoded in one pass into one buffer (produce-request.ts) whenever that gives
// kafkajs' bytes; the request above then takes the framed bytes as they are.
const FRAMED = Symbol.for('tsf.kafka.produceFramed')
{
  const path = require.resolve('kafkajs/src/protocol/requests/produce/v3/request.js')
  const original = require(path) as (args: ProduceArgs) => { apiKey: number; apiVersion: number; encode: () => Promise<unknown> }
  require.cache[path]!.exports = (args: ProduceArgs) => {
    const request = original(args)
    if (!encodable(args)) return request
    request.encode = () => encodeProduce(args)
    // apiVersion read when encoding: produce v4–v7 reuse this request and set their own
    return Object.assign(request, {
      [FRAMED]: (correlationId: number, clientId: string) =>
        encodeProduce(args, { apiKey: request.apiKey, apiVersion: request.apiVersion, correlationId, clientId }),
    })
  }
}

// Fetched records without an object per record. A partition's record batches are decoded in one
// pass into a RecordSet (record-set.ts: columns over the fetched bytes) instead of kafkajs' message
// objects (a message, two Longs, a headers object and several Decoders each): fetch responses v4 and
// later all read a partition's records through v4/decodeMessages.js. Bytes our decoder does not
// read exactly as kafkajs does (older message formats, anything malformed) go to kafkajs' decoder
// as before. kafkajs' Batch is replaced by one with the same filters and answers over a RecordSet
// (fetch-batch.ts), and its runner asks the batch for the two things it read from the messages.
type KafkaDecoder = { buffer: Buffer; offset: number; readInt32(): number; canReadBytes(n: number): boolean }
const decodeMessagesPath = require.resolve('kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js')
export const kafkajsDecodeMessages = require(decodeMessagesPath) as (decoder: KafkaDecoder) => Promise<DecodedMessage[]>
require.cache[decodeMessagesPath]!.exports = async (decoder: KafkaDecoder): Promise<RecordSet | DecodedMessage[]> => {
  const start = decoder.offset
  const size = decoder.readInt32()
  if (size <= 0 || !decoder.canReadBytes(size)) return []
  const from = decoder.offset
  try {
    const set = await decodeRecordSet(decoder.buffer, from, from + size)
    decoder.offset = from + size
    return set
  } catch (error) {
    if (!(error instanceof NotDecodable)) throw error
    decoder.offset = start
    return kafkajsDecodeMessages(decoder)
  }
}
type PartitionData = ConstructorParameters<typeof FetchBatch>[2]
const batchPath = require.resolve('kafkajs/src/consumer/batch.js')
// kafkajs' own Batch, for message arrays (and the tests that compare ours with it)
export const KafkajsBatch = require(batchPath) as new (topic: string, fetchedOffset: string, data: PartitionData) => object
{
  require.cache[batchPath]!.exports = function Batch(topic: string, fetchedOffset: string, data: PartitionData) {
    return data.messages instanceof RecordSet
      ? new FetchBatch(topic, fetchedOffset, data, data.messages)
      : new KafkajsBatch(topic, fetchedOffset, data)
  }
}
patchModule('kafkajs/src/consumer/runner.js', (source) => {
  let s = replaceOnce(
    source,
    `const lastFilteredMessage = batch.messages[batch.messages.length - 1]`,
    `const lastFilteredMessage = batch.tsfLastMessage ? batch.tsfLastMessage() : batch.messages[batch.messages.length - 1]`,
  )
  s = replaceOnce(s, `batchSize: batch.messages.length,`, `batchSize: batch.tsfSize ? batch.tsfSize() : batch.messages.length,`)
  return s
})
