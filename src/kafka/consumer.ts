// A Kafka consumer group member: fetched batches in, explicit commits out.
import type { Consumer, EachBatchPayload } from 'kafkajs'
import { newKafka, type ClientOptions } from './client.js'
import { FetchBatch } from './fetch-batch.js'
import { recordSetFromMessages, type DecodedMessage, type RecordSet } from './record-set.js'

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

// A fetch's records: record index[i] of set, for i below index.length (no object per record)
export interface FetchedRecords {
  set: RecordSet
  index: Int32Array
}

export interface FetchedBatch {
  topic: string
  partition: number
  records: FetchedRecords
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
          records: fetchedRecords(batch),
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

// Our decoder's batches carry their RecordSet; a partition kafkajs decoded itself (older message
// formats) has its message objects.
const fetchedRecords = (batch: EachBatchPayload['batch']): FetchedRecords => {
  if (batch instanceof FetchBatch) return { set: batch.records, index: batch.kept }
  const messages = batch.messages as unknown as DecodedMessage[]
  return { set: recordSetFromMessages(messages), index: Int32Array.from(messages, (_, i) => i) }
}

// Record i of a fetch as an object (the careful path of collect, and tests).
export const fetchedRecord = (set: RecordSet, i: number): FetchedRecord => ({
  key: set.key(i),
  value: set.value(i),
  timestamp: set.legacy ? set.legacy[i]!.timestamp : String(set.timestamps[i]!),
  offset: set.offset(i),
})
