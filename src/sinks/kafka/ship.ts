import { hostname } from 'node:os'
import { TsfError } from '../../core/errors.js'
import { releaseEvents, type InputBatch } from '../../core/link/reader.js'
import type { Runtime } from '../../core/runtime.js'
import { describeKafkaError, KafkaAuthFailed, KafkaRejected } from '../../kafka/errors.js'
import { KafkaProducer, type Acks, type Compression } from '../../kafka/producer.js'
import type { KafkaSecurity } from '../../kafka/security.js'
import type { KafkaUrl } from '../../kafka/url.js'
import { runBatchSink, type BatchDriver, type FailureRun } from '../batch-sink.js'
import type { ServerShipConfig } from '../delivery-end.js'
import { LineRecords } from './line-records.js'
import { toRecord, type KafkaRecord, type RecordRules } from './records.js'

// A send is one Produce request per broker; linger: how long a partial batch may wait when
// nothing is in flight.
export interface KafkaShipConfig extends ServerShipConfig {
  url: KafkaUrl
  rules: Omit<RecordRules, 'topic'>
  acks: Acks
  compression: Compression
  // sends in flight at once (idempotent producer only; at most 5)
  inFlight: number
  security?: KafkaSecurity
}

const byTopic = (records: KafkaRecord[]): Map<string, KafkaRecord[]> => {
  const map = new Map<string, KafkaRecord[]>()
  for (const r of records) {
    const list = map.get(r.topic)
    if (list) list.push(r)
    else map.set(r.topic, [r])
  }
  return map
}

interface Queued {
  batch: InputBatch
  records: KafkaRecord[]
  bytes: number
}

// A send: whole input batches, in input order.
interface Send {
  taken: Queued[]
  records: KafkaRecord[]
}

const sizeTypes = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE'])

// tsf ship kafka://brokers/topic: stdin → Kafka, through the drain loop (batch-sink.ts) with
// ordered sends: a stream's events reach their partition in order; while a send is in flight the
// next one fills (adaptive batching). An input batch is acked upstream only once Kafka acked every
// record of it.
export const runKafkaShip = async (config: KafkaShipConfig, rt: Runtime): Promise<number> => {
  const rules: RecordRules = { ...config.rules, topic: config.url.topic }
  // --value event: the records are made from the lines' bytes (line-records.ts), no heads made
  const asLines = config.rules.value === 'event'
  const lineRecords = new LineRecords(rules)
  const producer = new KafkaProducer({
    brokers: config.url.brokers,
    clientId: `tsf-ship@${hostname()}`,
    connectTimeout: config.connectTimeout,
    requestTimeout: config.requestTimeout,
    acks: config.acks,
    idempotent: config.acks === 'all',
    compression: config.compression,
    security: config.security,
  })
  const where = config.url.name
  const queue: Queued[] = []
  let queuedBytes = 0
  let queuedEvents = 0

  // Sends records, splitting a request Kafka finds too large; resolves once all are acked.
  const sendAll = async (records: KafkaRecord[], failures: FailureRun): Promise<void> => {
    const backoff = failures.backoff()
    while (!failures.closing) {
      try {
        await producer.send(byTopic(records))
        failures.succeeded()
        return
      } catch (error) {
        if (error instanceof KafkaRejected && sizeTypes.has(error.type) && records.length > 1) {
          const half = records.length >> 1
          await sendAll(records.slice(0, half), failures)
          await sendAll(records.slice(half), failures)
          return
        }
        if (error instanceof KafkaAuthFailed) throw new TsfError(`${where}: ${error.message}`)
        if (error instanceof KafkaRejected) {
          const hint = sizeTypes.has(error.type)
            ? ` (an event of ${records[0]!.bytes} bytes; lower --max-line or raise the topic's max.message.bytes)`
            : ''
          throw new TsfError(`${where}: Kafka rejected the records: ${error.message}${hint}`)
        }
        failures.failed(describeKafkaError(error))
        // kafkajs does not retry a produce (see src/kafka/producer.ts): a fresh producer id each time
        await producer.reset()
        await failures.pause(backoff.next())
      }
    }
  }

  const driver: BatchDriver<Send> = {
    get events() {
      return queuedEvents
    },
    get bytes() {
      return queuedBytes
    },
    push(batch) {
      const records = batch.lines ? lineRecords.records(batch.lines) : batch.heads.map((head) => toRecord(head, rules))
      // the records hold copies (their tails): the reader may frame later input into these bytes
      releaseEvents(batch)
      if (records.length === 0) return 0
      const bytes = records.reduce((n, r) => n + r.bytes, 0)
      queue.push({ batch, records, bytes })
      queuedBytes += bytes
      queuedEvents += records.length
      return records.length
    },
    take() {
      const taken: Queued[] = []
      const records: KafkaRecord[] = []
      let bytes = 0
      while (
        queue.length &&
        (taken.length === 0 ||
          (records.length + queue[0]!.records.length <= config.batchEvents && bytes + queue[0]!.bytes <= config.batchBytes))
      ) {
        const q = queue.shift()!
        taken.push(q)
        for (const r of q.records) records.push(r)
        bytes += q.bytes
        queuedBytes -= q.bytes
        queuedEvents -= q.records.length
      }
      return taken.length ? { taken, records } : undefined
    },
    size: (send) => send.records.length,
    send: (send, failures) => sendAll(send.records, failures),
    delivered(send) {
      rt.counters.add('EventDrainSuccessCount', send.records.length)
      return send.taken.map((q) => q.batch)
    },
    // at most 5 in flight keep their order in Kafka (idempotent producer); without idempotence
    // (--acks 1 or 0) one, so a retry cannot reorder a partition
    inFlight: () => (producer.isIdempotent ? Math.min(config.inFlight, 5) : 1),
    // The idempotent producer keeps a partition's order across the sends in flight; after a
    // failure the producer starts over and the failed sends and the ones after them go again in
    // order (records Kafka already had are duplicates, deduped on (src, seq)).
    ordered: {
      attempt: (send) => producer.send(byTopic(send.records)),
      async restart(error, failures) {
        // a rejection is the retrying send's to say
        if (!(error instanceof KafkaRejected)) failures.failed(describeKafkaError(error))
        await producer.reset()
      },
    },
    // input read at once (a short pipe): a connection still being made ends first, so a refused
    // login is said alone rather than after "waiting for N events"
    async ending() {
      const connecting = producer.pendingConnect
      if (!connecting) return
      let timer: NodeJS.Timeout | undefined
      await Promise.race([
        connecting.catch(() => undefined),
        new Promise((resolve) => (timer = setTimeout(resolve, config.connectTimeout))),
      ])
      clearTimeout(timer)
    },
    close: () => producer.close(),
  }
  return runBatchSink(config, rt, driver, {
    where,
    what: 'acked by Kafka',
    silence: 'no ack from Kafka',
    resumed: 'delivering',
    input: { maxLine: config.maxLine, truncate: config.truncate, lines: asLines ? 'events' : undefined, linesBlock: 4 * 1024 * 1024 },
  })
}
