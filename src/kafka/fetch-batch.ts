// kafkajs' consumer Batch (kafkajs/src/consumer/batch.js) over a RecordSet (record-set.ts) instead
// of an array of message objects: the same filters (records before the fetched offset, records of
// aborted transactions, control records) giving the indices of the records handed on, and the same
// methods with the same answers, which kafkajs' runner and consumer group call. Installed in
// kafkajs' module cache by kafkajs-patches.ts; a partition kafkajs decoded itself (an array of
// messages) gets kafkajs' own Batch.
import { createRequire } from 'node:module'
import type { DecodedMessage, RecordSet } from './record-set.js'

const require = createRequire(import.meta.url)
interface LongLike {
  add(v: number | LongLike): LongLike
  multiply(v: number): LongLike
  toString(): string
}
const Long = require('kafkajs/src/utils/long') as { fromValue(v: unknown): LongLike }

interface PartitionData {
  partition: number
  highWatermark: string
  abortedTransactions?: { producerId: string; firstOffset: string }[]
  messages: RecordSet | DecodedMessage[]
}

export class FetchBatch {
  readonly partition: number
  readonly highWatermark: string
  // records at or after the fetched offset (kafkajs' messagesWithinOffset)
  private readonly within: Int32Array
  // the records handed on (kafkajs' messages): within, less aborted and control records
  readonly kept: Int32Array
  private materialized?: DecodedMessage[]

  constructor(
    readonly topic: string,
    readonly fetchedOffset: string,
    partitionData: PartitionData,
    readonly records: RecordSet,
  ) {
    this.partition = partitionData.partition
    this.highWatermark = partitionData.highWatermark
    const set = records
    const fetched = Number(fetchedOffset)
    let within = new Int32Array(set.length)
    let n = 0
    for (let i = 0; i < set.length; i++) if (set.offsets[i]! >= fetched) within[n++] = i
    within = within.subarray(0, n)
    this.within = within
    const aborted = partitionData.abortedTransactions ?? []
    let kept = new Int32Array(n)
    let k = 0
    if (aborted.length === 0) {
      for (let j = 0; j < n; j++) if (!set.isControl(within[j]!)) kept[k++] = within[j]!
    } else {
      // kafkajs' filterAbortedMessages: an aborted transaction starts at its first offset and ends
      // at its producer's abort marker (a record whose key is four zero bytes)
      const remaining = [...aborted]
      const current = new Set<string>()
      for (let j = 0; j < n; j++) {
        const i = within[j]!
        if (remaining.length && set.offsets[i]! >= Number(remaining[0]!.firstOffset)) current.add(remaining.shift()!.producerId)
        const producerId = set.producerId(i)
        let keep = true
        if (isAbortMarker(set, i)) current.delete(producerId)
        else if (current.has(producerId) && set.inTransaction(i)) keep = false
        if (keep && !set.isControl(i)) kept[k++] = i
      }
    }
    kept = kept.subarray(0, k)
    this.kept = kept
  }

  // The handed-on records as kafkajs' message objects (made on first use: tsf does not use them)
  get messages(): DecodedMessage[] {
    this.materialized ??= Array.from(this.kept, (i) => this.records.message(i))
    return this.materialized
  }

  // what the runner reads of the messages (kafkajs-patches.ts points it here)
  tsfSize(): number {
    return this.kept.length
  }

  tsfLastMessage(): { offset: string } | undefined {
    return this.kept.length ? { offset: this.records.offset(this.kept[this.kept.length - 1]!) } : undefined
  }

  isEmpty(): boolean {
    return this.kept.length === 0
  }

  isEmptyIncludingFiltered(): boolean {
    return this.within.length === 0
  }

  isEmptyDueToFiltering(): boolean {
    return this.isEmpty() && this.records.length > 0
  }

  isEmptyControlRecord(): boolean {
    return this.isEmpty() && Array.from(this.within).some((i) => this.records.isControl(i))
  }

  isEmptyDueToLogCompactedMessages(): boolean {
    return this.records.length > 0 && this.isEmptyIncludingFiltered()
  }

  firstOffset(): string | null {
    return this.isEmptyIncludingFiltered() ? null : this.records.offset(this.within[0]!)
  }

  lastOffset(): string {
    if (this.isEmptyDueToLogCompactedMessages()) return this.fetchedOffset
    if (this.isEmptyIncludingFiltered()) return Long.fromValue(this.highWatermark).add(-1).toString()
    return this.records.offset(this.within[this.within.length - 1]!)
  }

  offsetLag(): string {
    const lastOffsetOfPartition = Long.fromValue(this.highWatermark).add(-1)
    return lastOffsetOfPartition.add(Long.fromValue(this.lastOffset()).multiply(-1)).toString()
  }

  offsetLagLow(): string {
    if (this.isEmptyIncludingFiltered()) return '0'
    const lastOffsetOfPartition = Long.fromValue(this.highWatermark).add(-1)
    return lastOffsetOfPartition.add(Long.fromValue(this.firstOffset()).multiply(-1)).toString()
  }
}

const isAbortMarker = (set: RecordSet, i: number): boolean => {
  if (set.keyLength[i] !== 4) return false
  const buf = set.bufferOf(i)
  const k = set.keyAt[i]!
  return buf[k] === 0 && buf[k + 1] === 0 && buf[k + 2] === 0 && buf[k + 3] === 0
}
