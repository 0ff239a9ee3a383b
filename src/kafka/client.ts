// The one module that knows kafkajs (in maintenance mode: we may swap clients, so nothing else in
// tsf imports it). It offers a producer that sends record batches and a consumer group that hands
// out fetched batches and commits only the offsets it is told to, plus one-line error messages.
import { createRequire } from 'node:module'
import type { Consumer, EachBatchPayload, KafkaMessage, LogEntry, Producer } from 'kafkajs'
// must run before kafkajs loads: it puts tsf's versions of some kafkajs modules in their place
import { SEND_QUEUED } from './kafkajs-patches.js'
import type { KafkaSecurity } from './security.js'
import { registerCodecs } from './codecs.js'

const require = createRequire(import.meta.url)
const kafkajs = require('kafkajs') as typeof import('kafkajs')
const { Kafka, CompressionTypes, Partitioners, logLevel } = kafkajs

export interface ClientOptions {
  brokers: string[]
  clientId: string
  // connect (TCP + API versions) deadline per broker
  connectTimeout: number
  requestTimeout: number
  security?: KafkaSecurity
}

export type Acks = 'all' | '1' | '0'

export interface ProducerOptions extends ClientOptions {
  acks: Acks
  // idempotent production (acks=all only); falls back to plain if the cluster refuses it
  idempotent: boolean
  compression: Compression
}

// gzip is kafkajs' own; snappy, lz4 (read only) and zstd (read only): src/kafka/codecs.ts
export type Compression = 'none' | 'gzip' | 'snappy'
registerCodecs(kafkajs as unknown as Parameters<typeof registerCodecs>[0])
const codecType = (c: Compression): number =>
  c === 'gzip' ? CompressionTypes.GZIP : c === 'snappy' ? CompressionTypes.Snappy : CompressionTypes.None

export interface OutRecord {
  key: string | null
  value: Buffer | string
  headers?: Record<string, string>
}

// Kafka's answer to a send that cannot succeed however often it is retried.
export class KafkaRejected extends Error {
  constructor(
    message: string,
    readonly type: string,
  ) {
    super(message)
  }
}

// The brokers refused our SASL login (wrong user, password or mechanism): retrying with the same
// credentials cannot help.
export class KafkaAuthFailed extends KafkaRejected {
  constructor(message: string) {
    super(message, 'SASL_AUTHENTICATION_FAILED')
  }
}

// kafkajs logs through console by default; we keep the tool's stderr for our own one-liners.
// TSF_KAFKA_DEBUG=1 shows kafkajs' own log for diagnosis.
const logCreator = () => (entry: LogEntry) => {
  if (!process.env.TSF_KAFKA_DEBUG) return
  process.stderr.write(
    `kafkajs ${entry.label} ${entry.namespace}: ${entry.log.message} ${JSON.stringify({ ...entry.log, message: undefined, timestamp: undefined, logger: undefined })}\n`,
  )
}

const tlsOptions = (tls: NonNullable<KafkaSecurity['tls']>) => ({
  ...(tls.ca ? { ca: [tls.ca] } : {}),
  ...(tls.cert ? { cert: tls.cert, key: tls.key } : {}),
  rejectUnauthorized: true,
})

const newKafka = (options: ClientOptions, retries: number) =>
  new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    ssl: options.security?.tls ? tlsOptions(options.security.tls) : undefined,
    sasl: options.security?.sasl as import('kafkajs').SASLOptions | undefined,
    connectionTimeout: options.connectTimeout,
    requestTimeout: options.requestTimeout,
    // short retries inside kafkajs; the engines retry for ever around them and say so
    retry: { retries, initialRetryTime: 200, maxRetryTime: 2000 },
    logLevel: process.env.TSF_KAFKA_DEBUG ? logLevel.DEBUG : logLevel.ERROR,
    logCreator,
  })

// Kafka's default partitioner (murmur2 of the key, as the Java client), remembering each key's
// partition: a key is a stream's src, the same for thousands of records in a row.
type PartitionerArgs = { topic: string; partitionMetadata: { partitionId: number }[]; message: { key?: unknown; partition?: number } }
const memoizedPartitioner = () => {
  const partition = Partitioners.DefaultPartitioner() as unknown as (args: PartitionerArgs) => number
  const known = new Map<string, number>()
  return (args: PartitionerArgs): number => {
    const key = args.message.key
    if (typeof key !== 'string' || args.message.partition !== undefined) return partition(args)
    const id = `${args.topic}\0${args.partitionMetadata.length}\0${key}`
    let p = known.get(id)
    if (p === undefined) {
      p = partition(args)
      if (known.size >= 10_000) known.clear()
      known.set(id, p)
    }
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

const toMessage = (r: OutRecord) => ({ key: r.key, value: r.value, headers: r.headers })

export interface ConsumerOptions extends ClientOptions {
  groupId: string
  topic: string
  fromBeginning: boolean
  sessionTimeout: number
  // most bytes fetched per partition per request
  maxBytesPerPartition: number
}

export interface FetchedRecord {
  key: Buffer | null
  value: Buffer | null
  timestamp: string
  offset: string
  headers?: Record<string, unknown>
}

export interface FetchedBatch {
  topic: string
  partition: number
  records: FetchedRecord[]
  // keep the group membership alive while a batch waits (back pressure)
  heartbeat: () => Promise<void>
  isRunning: () => boolean
  // the next fetch of this partition starts after `offset` (not a commit)
  advance: (offset: string) => void
}

export interface Assignment {
  topic: string
  partitions: number[]
}

// A consumer group member: batches in, explicit commits out. Nothing is ever committed that the
// caller did not pass to commit().
export class KafkaConsumer {
  private readonly consumer: Consumer
  private assigned = new Set<string>()
  private running = false

  constructor(private readonly options: ConsumerOptions) {
    this.consumer = newKafka(options, 5).consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeout,
      heartbeatInterval: Math.max(500, Math.floor(options.sessionTimeout / 10)),
      maxBytesPerPartition: options.maxBytesPerPartition,
      allowAutoTopicCreation: true,
      retry: { retries: 5, initialRetryTime: 300, maxRetryTime: 5000, restartOnFailure: async () => true },
    })
  }

  onJoin(listener: (assignment: Assignment[]) => void): void {
    this.consumer.on(this.consumer.events.GROUP_JOIN, (event) => {
      const assignment = Object.entries(event.payload.memberAssignment).map(([topic, partitions]) => ({ topic, partitions }))
      this.assigned = new Set(assignment.flatMap((a) => a.partitions.map((p) => `${a.topic}:${p}`)))
      listener(assignment)
    })
  }

  onCrash(listener: (error: Error, restarting: boolean) => void): void {
    this.consumer.on(this.consumer.events.CRASH, (event) => listener(event.payload.error, event.payload.restart))
  }

  onRebalance(listener: () => void): void {
    this.consumer.on(this.consumer.events.REBALANCING, () => listener())
  }

  isAssigned(topic: string, partition: number): boolean {
    return this.assigned.has(`${topic}:${partition}`)
  }

  async start(onBatch: (batch: FetchedBatch) => Promise<void>): Promise<void> {
    await this.consumer.connect()
    await this.consumer.subscribe({ topics: [this.options.topic], fromBeginning: this.options.fromBeginning })
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: 1,
      eachBatch: async (payload: EachBatchPayload) => {
        const { batch } = payload
        await onBatch({
          topic: batch.topic,
          partition: batch.partition,
          records: batch.messages.map(toFetched),
          heartbeat: payload.heartbeat,
          isRunning: () => payload.isRunning() && !payload.isStale(),
          advance: payload.resolveOffset,
        })
      },
    })
    this.running = true
  }

  // Stops fetching every partition (shutdown: drain what is written, commit, then leave). A
  // consumer that never got to run (stopped during a broker outage) fetches nothing: kafkajs
  // would throw "Consumer group was not initialized".
  pauseAll(): void {
    if (this.running) this.consumer.pause([{ topic: this.options.topic }])
  }

  // Commits "next offset to read" per partition; kafkajs drops commits once it stopped running.
  async commit(offsets: { topic: string; partition: number; offset: string }[]): Promise<void> {
    if (offsets.length) await this.consumer.commitOffsets(offsets)
  }

  async close(): Promise<void> {
    await this.consumer.disconnect().catch(() => undefined)
  }
}

const toFetched = (m: KafkaMessage): FetchedRecord => ({
  key: m.key,
  value: m.value,
  timestamp: m.timestamp,
  offset: m.offset,
  headers: m.headers,
})

interface KafkaJsError {
  name?: string
  code?: string
  broker?: string
  message?: string
  type?: string
  retriable?: boolean
  originalError?: unknown
  cause?: unknown
}

// The innermost error of kafkajs' wrappers (retries exceeded → connection error → ECONNREFUSED).
const innermost = (error: unknown): KafkaJsError => {
  let e = error as KafkaJsError
  for (let i = 0; i < 5 && e && typeof e === 'object'; i++) {
    const next = (e.originalError ?? e.cause) as KafkaJsError | undefined
    if (!next || typeof next !== 'object') break
    e = next
  }
  return e
}

// A refused SASL login, however kafkajs wrapped it.
export const isAuthFailure = (error: unknown): boolean => {
  let e = error as KafkaJsError
  for (let i = 0; i < 6 && e && typeof e === 'object'; i++) {
    if (
      e.name === 'KafkaJSSASLAuthenticationError' ||
      e.type === 'SASL_AUTHENTICATION_FAILED' ||
      e.type === 'ILLEGAL_SASL_STATE' ||
      e.type === 'UNSUPPORTED_SASL_MECHANISM'
    )
      return true
    e = (e.originalError ?? e.cause) as KafkaJsError
  }
  return false
}

export const kafkaErrorType = (error: unknown): string | undefined => {
  let e = error as KafkaJsError
  for (let i = 0; i < 6 && e && typeof e === 'object'; i++) {
    if (typeof e.type === 'string') return e.type
    e = (e.originalError ?? e.cause) as KafkaJsError
  }
  return undefined
}

// The broker a kafkajs connection error names, wherever it is in the chain.
const brokerOf = (error: unknown): string | undefined => {
  let e = error as KafkaJsError
  for (let i = 0; i < 6 && e && typeof e === 'object'; i++) {
    if (typeof e.broker === 'string') return e.broker
    e = (e.originalError ?? e.cause) as KafkaJsError
  }
  return undefined
}

// Node's codes for a certificate it does not trust, and for a TLS handshake that went wrong.
const UNTRUSTED =
  /^(SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|UNABLE_TO_VERIFY_LEAF_SIGNATURE)$/
const TLS_CODE = /CERT|SSL|TLS|SIGNATURE/

// "TLS: self-signed certificate in certificate chain (127.0.0.1:9093; ...)" for a failed handshake.
const describeTlsError = (error: unknown): string | undefined => {
  let e = error as KafkaJsError
  const broker = brokerOf(error)
  for (let i = 0; i < 6 && e && typeof e === 'object'; i++) {
    if (typeof e.code === 'string' && TLS_CODE.test(e.code)) {
      const text = String(e.message ?? '').replace(/^Connection error: /, '')
      const hint = UNTRUSTED.test(e.code)
        ? "; --kafka-ca must name the CA that signed the brokers' certificates"
        : /WRONG_VERSION|PACKET_LENGTH/.test(e.code)
          ? '; is this a TLS listener?'
          : ''
      return `TLS: ${text}${broker ? ` (${broker}${hint})` : hint ? ` (${hint.slice(2)})` : ''}`
    }
    // a TLS client on a listener that does not speak TLS: the broker hangs up on the hello
    if (/before secure TLS connection was established/.test(String(e.message))) {
      return `TLS: the broker closed the connection during the TLS handshake (${broker ? `${broker}; ` : ''}is this a TLS listener?)`
    }
    e = (e.originalError ?? e.cause) as KafkaJsError
  }
  return undefined
}

// One line, the cause first: "connection refused (127.0.0.1:1)", "MESSAGE_TOO_LARGE: ...".
export const describeKafkaError = (error: unknown): string => {
  if (error instanceof KafkaRejected) return error.message
  const tls = describeTlsError(error)
  if (tls) return tls
  const e = innermost(error)
  const text = String(e?.message ?? error)
  const refused = /ECONNREFUSED ([^\s]+)/.exec(text)
  if (refused) return `connection refused (${refused[1]})`
  const notFound = /ENOTFOUND ([^\s]+)/.exec(text)
  if (notFound) return `unknown host ${notFound[1]}`
  if (/Connection timeout/i.test(text))
    return `connection timed out${/to ([^\s]+)/.exec(text)?.[1] ? ` (${/to ([^\s]+)/.exec(text)![1]})` : ''}`
  const type = kafkaErrorType(error)
  return type && !text.includes(type) ? `${type}: ${text}` : text
}
