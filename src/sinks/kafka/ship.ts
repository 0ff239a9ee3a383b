import { EventEmitter, once } from 'node:events'
import { hostname } from 'node:os'
import { TsfError } from '../../core/errors.js'
import type { InputBatch } from '../../core/link/reader.js'
import { info, warn } from '../../core/log.js'
import type { Runtime } from '../../core/runtime.js'
import { describeKafkaError, KafkaProducer, KafkaRejected, kafkaErrorType, type Acks } from '../../kafka/client.js'
import type { KafkaUrl } from '../../kafka/url.js'
import { awaitDelivery, deliveryExit, type ServerShipConfig } from '../delivery-end.js'
import { toRecord, type KafkaRecord, type RecordRules } from './records.js'

// A send is one Produce request per broker; linger: how long a partial batch may wait when
// nothing is in flight.
export interface KafkaShipConfig extends ServerShipConfig {
  url: KafkaUrl
  rules: Omit<RecordRules, 'topic'>
  acks: Acks
  gzip: boolean
}

interface Queued {
  batch: InputBatch
  records: KafkaRecord[]
  bytes: number
}

// Errors after which the producer starts over with a new connection and producer id.
const resetTypes = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH', 'INVALID_PRODUCER_ID_MAPPING'])
const sizeTypes = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE'])

// tsf ship kafka://brokers/topic: stdin → Kafka. One send is in flight at a time, so a stream's
// events reach their partition in order; while it is in flight the next one fills (adaptive
// batching). An input batch is acked upstream only once Kafka acked every record of it.
export const runKafkaShip = async (config: KafkaShipConfig, rt: Runtime): Promise<number> => {
  const rules: RecordRules = { ...config.rules, topic: config.url.topic }
  const input = rt.input({ maxLine: config.maxLine, truncate: config.truncate })
  const producer = new KafkaProducer({
    brokers: config.url.brokers,
    clientId: `tsf-ship@${hostname()}`,
    connectTimeout: config.connectTimeout,
    requestTimeout: config.requestTimeout,
    acks: config.acks,
    idempotent: config.acks === 'all',
    gzip: config.gzip,
  })
  const where = config.url.name
  const queue: Queued[] = []
  let queuedBytes = 0
  let queuedEvents = 0
  let inflightEvents = 0
  let ended = false
  let closing = false
  let fatal: Error | undefined
  let lastError: string | undefined
  const events = new EventEmitter()
  rt.counters.gauge('ChannelSize', () => queuedEvents + inflightEvents)

  // a pause that closing cuts short
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        events.off('wake', done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      events.on('wake', done)
    })

  // Sends records, splitting a request Kafka finds too large; resolves once all are acked.
  const sendAll = async (records: KafkaRecord[]): Promise<void> => {
    const byTopic = new Map<string, KafkaRecord[]>()
    for (const r of records) {
      const list = byTopic.get(r.topic)
      if (list) list.push(r)
      else byTopic.set(r.topic, [r])
    }
    let backoff = 200
    let failures = 0
    let since = 0
    while (!closing) {
      try {
        await producer.send(byTopic)
        if (failures) info(`${where}: delivering again after ${Math.round((Date.now() - since) / 1000)} s`)
        lastError = undefined
        return
      } catch (error) {
        if (error instanceof KafkaRejected && sizeTypes.has(error.type) && records.length > 1) {
          const half = records.length >> 1
          await sendAll(records.slice(0, half))
          await sendAll(records.slice(half))
          return
        }
        if (error instanceof KafkaRejected) {
          const hint = sizeTypes.has(error.type) ? ` (an event of ${records[0]!.bytes} bytes; lower --max-line or raise the topic's max.message.bytes)` : ''
          throw new TsfError(`${where}: Kafka rejected the records: ${error.message}${hint}`)
        }
        const text = describeKafkaError(error)
        if (!failures) {
          since = Date.now()
          warn(`${where}: ${text}; retrying, nothing is dropped`)
        } else if (text !== lastError) warn(`${where}: ${text}`)
        lastError = text
        failures++
        rt.counters.add('ConnectionFailedCount')
        if (failures % 3 === 0 || resetTypes.has(kafkaErrorType(error) ?? '')) await producer.reset()
        await sleep(backoff)
        backoff = Math.min(backoff * 2, config.maxBackoff)
      }
    }
  }

  const sender = async (): Promise<void> => {
    while (!closing) {
      if (queue.length === 0) {
        if (ended) return
        await once(events, 'more')
        continue
      }
      if (config.linger > 0 && !ended && queuedEvents < config.batchEvents && queuedBytes < config.batchBytes) {
        await Promise.race([sleep(config.linger), once(events, 'full')])
      }
      const taken: Queued[] = []
      const records: KafkaRecord[] = []
      let bytes = 0
      while (queue.length && (taken.length === 0 || (records.length + queue[0]!.records.length <= config.batchEvents && bytes + queue[0]!.bytes <= config.batchBytes))) {
        const q = queue.shift()!
        taken.push(q)
        for (const r of q.records) records.push(r)
        bytes += q.bytes
        queuedBytes -= q.bytes
        queuedEvents -= q.records.length
      }
      inflightEvents = records.length
      if (records.length) await sendAll(records)
      if (closing) return
      inflightEvents = 0
      rt.counters.add('EventDrainSuccessCount', records.length)
      for (const q of taken) input.done(q.batch)
      events.emit('progress')
    }
  }

  const sending = sender().catch((error: Error) => {
    fatal = error
    // stop waiting for input that may be slow to come (tail -F): the failure is to be said now
    input.stop()
    events.emit('progress')
  })

  const stopped = new Promise<void>((resolve) => rt.stop.addEventListener('abort', () => resolve(), { once: true }))
  try {
    for await (const batch of input.batches()) {
      const records = batch.heads.map((head) => toRecord(head, rules))
      const bytes = records.reduce((n, r) => n + r.bytes, 0)
      rt.counters.add('EventTakeSuccessCount', records.length)
      queue.push({ batch, records, bytes })
      queuedBytes += bytes
      queuedEvents += records.length
      events.emit('more')
      if (queuedEvents >= config.batchEvents || queuedBytes >= config.batchBytes) events.emit('full')
      while (queuedBytes > config.window && !fatal && !rt.stop.aborted) await Promise.race([once(events, 'progress'), stopped])
      if (fatal) break
    }
    ended = true
    events.emit('more')
    events.emit('full')
    const end = { rt, input, shutdownTimeout: config.shutdownTimeout }
    const wait = await awaitDelivery(end, sending, () => queuedEvents + inflightEvents, 'acked by Kafka')
    const left = queuedEvents + inflightEvents
    if (fatal) throw new TsfError(`${fatal.message}; ${left} events stay unacked upstream`)
    return deliveryExit(end, left, wait, where, lastError ?? 'no ack from Kafka')
  } finally {
    closing = true
    events.emit('wake')
    events.emit('more')
    await Promise.race([producer.close(), new Promise((resolve) => setTimeout(resolve, 2000).unref())])
  }
}
