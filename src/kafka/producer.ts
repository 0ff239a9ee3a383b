// A Kafka producer that sends record batches and resolves once Kafka acked them; a send that
// cannot succeed however often it is retried is a KafkaRejected.
import type { Producer } from 'kafkajs'
import { kafkajs, newKafka, type ClientOptions } from './client.js'
import { SEND_QUEUED } from './kafkajs-patches.js'
import { describeKafkaError, isAuthFailure, KafkaAuthFailed, kafkaErrorType, KafkaRejected } from './errors.js'

const { CompressionTypes, Partitioners } = kafkajs

export type Acks = 'all' | '1' | '0'

export interface ProducerOptions extends ClientOptions {
  acks: Acks
  // idempotent production (acks=all only); falls back to plain if the cluster refuses it
  idempotent: boolean
  compression: Compression
}

// gzip is kafkajs' own; snappy: src/kafka/codecs.ts (registered in client.ts)
export type Compression = 'none' | 'gzip' | 'snappy'
const codecType = (c: Compression): number =>
  c === 'gzip' ? CompressionTypes.GZIP : c === 'snappy' ? CompressionTypes.Snappy : CompressionTypes.None
export interface OutRecord {
  key: string | null
  value: Buffer | string
  headers?: Record<string, string>
  // key, value and headers encoded already (record-tail.ts): the Produce request copies it as is
  tail?: Buffer
}

// Kafka's default partitioner (murmur2 of the key, as the Java client), remembering each key's
// partition: a key is a stream's src, the same for thousands of records in a row.
type PartitionerArgs = { topic: string; partitionMetadata: { partitionId: number }[]; message: { key?: unknown; partition?: number } }
const memoizedPartitioner = () => {
  const partition = Partitioners.DefaultPartitioner() as unknown as (args: PartitionerArgs) => number
  const known = new Map<string, number>()
  // the last answer: a run of one stream's records asks the same
  let last = { topic: '', partitions: -1, key: '', partition: 0 }
  return (args: PartitionerArgs): number => {
    const key = args.message.key
    if (typeof key !== 'string' || args.message.partition !== undefined) return partition(args)
    if (key === last.key && args.topic === last.topic && args.partitionMetadata.length === last.partitions) return last.partition
    const id = `${args.topic}\0${args.partitionMetadata.length}\0${key}`
    let p = known.get(id)
    if (p === undefined) {
      p = partition(args)
      if (known.size >= 10_000) known.clear()
      known.set(id, p)
    }
    last = { topic: args.topic, partitions: args.partitionMetadata.length, key, partition: p }
    return p
  }
}

const acksNumber = (acks: Acks): number => (acks === 'all' ? -1 : Number(acks))

// Errors that say the request itself is wrong: re-sending the same records cannot help.
const fatalTypes = new Set([
  'MESSAGE_TOO_LARGE',
  'RECORD_LIST_TOO_LARGE',
  'INVALID_TOPIC_EXCEPTION',
  'TOPIC_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'INVALID_RECORD',
  'INVALID_REQUIRED_ACKS',
  'UNSUPPORTED_COMPRESSION_TYPE',
  'SASL_AUTHENTICATION_FAILED',
])

export class KafkaProducer {
  private producer?: Producer
  private connected = false
  private idempotent: boolean

  constructor(private readonly options: ProducerOptions) {
    this.idempotent = options.idempotent && options.acks === 'all'
  }

  private create(): Producer {
    return newKafka(this.options, 2).producer({
      idempotent: this.idempotent,
      // Kafka keeps the order of up to 5 in-flight requests of an idempotent producer
      maxInFlightRequests: this.idempotent ? 5 : undefined,
      retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 2000 },
      allowAutoTopicCreation: true,
      createPartitioner: memoizedPartitioner,
    })
  }

  private connecting?: Promise<void>

  // Concurrent sends share one connect.
  connect(): Promise<void> {
    if (this.connected) return Promise.resolve()
    this.connecting ??= this.connectOnce().finally(() => (this.connecting = undefined))
    return this.connecting
  }

  // the connection being made now, if one is
  get pendingConnect(): Promise<void> | undefined {
    return this.connecting
  }

  private async connectOnce(): Promise<void> {
    this.producer ??= this.create()
    try {
      await this.producer.connect()
    } catch (error) {
      if (this.idempotent && kafkaErrorType(error) === 'CLUSTER_AUTHORIZATION_FAILED') {
        // the cluster does not let us write idempotently: plain acks=all still loses nothing
        this.idempotent = false
        this.producer = undefined
        return this.connectOnce()
      }
      throw error
    }
    this.connected = true
  }

  get isIdempotent(): boolean {
    return this.idempotent
  }

  // Sends records grouped by topic; resolves once Kafka acked them (per --acks).
  // Sends may overlap: each starts once the one before has all its requests queued on the
  // connections (see kafkajs-patches.ts), so a partition gets them in the order send() was called.
  private queued: Promise<void> = Promise.resolve()

  async send(byTopic: Map<string, OutRecord[]>): Promise<void> {
    const before = this.queued
    let queued!: () => void
    this.queued = new Promise((resolve) => (queued = resolve))
    const topicMessages = [...byTopic].map(([topic, messages]) => ({ topic, messages: messages.map(toMessage) }))
    try {
      await before
      await this.connect()
      ;(globalThis as { [SEND_QUEUED]?: () => void })[SEND_QUEUED] = queued
      await this.producer!.sendBatch({
        topicMessages,
        acks: acksNumber(this.options.acks),
        timeout: this.options.requestTimeout,
        compression: codecType(this.options.compression),
      })
    } catch (error) {
      if (isAuthFailure(error)) throw new KafkaAuthFailed(describeKafkaError(error))
      const type = kafkaErrorType(error)
      if (type && fatalTypes.has(type)) throw new KafkaRejected(describeKafkaError(error), type)
      throw error
    } finally {
      queued()
    }
  }

  // After a failure: start over with a fresh connection (and a fresh producer id if idempotent
  // sequence numbers went wrong); re-sent records are at-least-once, deduped on (src, seq) downstream.
  async reset(): Promise<void> {
    const old = this.producer
    this.producer = undefined
    this.connected = false
    await old?.disconnect().catch(() => undefined)
  }

  async close(): Promise<void> {
    await this.reset()
  }
}

const toMessage = (r: OutRecord) =>
  r.tail ? { key: r.key, value: r.tail, tsfTail: r.tail } : { key: r.key, value: r.value, headers: r.headers }
