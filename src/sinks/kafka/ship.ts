import { EventEmitter, once } from 'node:events'
import { hostname } from 'node:os'
import { TsfError } from '../../core/errors.js'
import { releaseEvents, type InputBatch } from '../../core/link/reader.js'
import { info, warn } from '../../core/log.js'
import type { Runtime } from '../../core/runtime.js'
import { describeKafkaError, KafkaAuthFailed, KafkaRejected } from '../../kafka/errors.js'
import { KafkaProducer, type Acks, type Compression } from '../../kafka/producer.js'
import type { KafkaSecurity } from '../../kafka/security.js'
import type { KafkaUrl } from '../../kafka/url.js'
import { eventOrTimeout } from '../../core/wait.js'
import { awaitDelivery, deliveryExit, type ServerShipConfig } from '../delivery-end.js'
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

const sizeTypes = new Set(['MESSAGE_TOO_LARGE', 'RECORD_LIST_TOO_LARGE'])

// tsf ship kafka://brokers/topic: stdin → Kafka. One send is in flight at a time, so a stream's
// events reach their partition in order; while it is in flight the next one fills (adaptive
// batching). An input batch is acked upstream only once Kafka acked every record of it.
export const runKafkaShip = async (config: KafkaShipConfig, rt: Runtime): Promise<number> => {
  const rules: RecordRules = { ...config.rules, topic: config.url.topic }
  // --value event: the records are made from the lines' bytes (line-records.ts), no heads made
  const asLines = config.rules.value === 'event'
  const input = rt.input({
    maxLine: config.maxLine,
    truncate: config.truncate,
    lines: asLines ? 'events' : undefined,
    linesBlock: 4 * 1024 * 1024,
  })
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
  let inflightEvents = 0
  let ended = false
  let closing = false
  let fatal: Error | undefined
  let lastError: string | undefined
  // when the current run of failures began (0: delivering)
  let failingSince = 0
  const events = new EventEmitter()
  rt.counters.gauge('ChannelSize', () => queuedEvents + inflightEvents)

  // at most 5 in flight keep their order in Kafka (idempotent producer); without idempotence
  // (--acks 1 or 0) one, so a retry cannot reorder a partition
  const maxInFlight = (): number => (producer.isIdempotent ? Math.min(config.inFlight, 5) : 1)

  // a pause that closing cuts short
  const sleep = (ms: number): Promise<void> => eventOrTimeout(events, 'wake', ms)

  // Sends records, splitting a request Kafka finds too large; resolves once all are acked.
  const sendAll = async (records: KafkaRecord[]): Promise<void> => {
    let backoff = 200
    let failures = 0
    while (!closing) {
      try {
        await producer.send(byTopic(records))
        if (failingSince) info(`${where}: delivering again after ${Math.round((Date.now() - failingSince) / 1000)} s`)
        failingSince = 0
        lastError = undefined
        return
      } catch (error) {
        if (error instanceof KafkaRejected && sizeTypes.has(error.type) && records.length > 1) {
          const half = records.length >> 1
          await sendAll(records.slice(0, half))
          await sendAll(records.slice(half))
          return
        }
        if (error instanceof KafkaAuthFailed) throw new TsfError(`${where}: ${error.message}`)
        if (error instanceof KafkaRejected) {
          const hint = sizeTypes.has(error.type)
            ? ` (an event of ${records[0]!.bytes} bytes; lower --max-line or raise the topic's max.message.bytes)`
            : ''
          throw new TsfError(`${where}: Kafka rejected the records: ${error.message}${hint}`)
        }
        const text = describeKafkaError(error)
        if (!failures) {
          failingSince ||= Date.now()
          // the sender may have said this one already
          if (text !== lastError) warn(`${where}: ${text}; retrying, nothing is dropped`)
        } else if (text !== lastError) warn(`${where}: ${text}`)
        lastError = text
        failures++
        rt.counters.add('ConnectionFailedCount')
        // kafkajs does not retry a produce (see src/kafka/producer.ts): a fresh producer id each time
        await producer.reset()
        await sleep(backoff)
        backoff = Math.min(backoff * 2, config.maxBackoff)
      }
    }
  }

  // Sends in flight, oldest first. Each is tried once; its batches are acked upstream in order.
  interface Flight {
    taken: Queued[]
    records: KafkaRecord[]
    // resolves to the send's error, undefined once Kafka acked it
    failure: Promise<unknown>
    settled: boolean
  }
  const flights: Flight[] = []
  const take = (): Flight => {
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
    inflightEvents += records.length
    const flight: Flight = { taken, records, failure: Promise.resolve(), settled: false }
    flight.failure = producer.send(byTopic(records)).then(
      () => undefined,
      (error: unknown) => error ?? new Error('send failed'),
    )
    void flight.failure.then(() => (flight.settled = true))
    return flight
  }
  const acked = (flight: Flight): void => {
    inflightEvents -= flight.records.length
    rt.counters.add('EventDrainSuccessCount', flight.records.length)
    for (const q of flight.taken) input.done(q.batch)
    events.emit('progress')
  }
  const full = (): boolean => queuedEvents >= config.batchEvents || queuedBytes >= config.batchBytes
  // Resolves when a full batch is queued, the input ended or `settled` did.
  // (a plain listener: an aborted once() builds an AbortError with its stack, per send)
  const fullOrSettled = async (settled: Promise<unknown>): Promise<void> => {
    let onFull!: () => void
    const full = new Promise<void>((resolve) => events.once('full', (onFull = resolve)))
    await Promise.race([settled, full])
    events.removeListener('full', onFull)
  }

  // Pipelined: a new send starts when nothing is in flight or a full batch is waiting, up to
  // maxInFlight. The idempotent producer keeps a partition's order across them; after a failure
  // everything in flight settles, the producer starts over and the failed sends and the ones after
  // them go again in order (records Kafka already had are duplicates, deduped on (src, seq)).
  const sender = async (): Promise<void> => {
    while (!closing) {
      while (queue.length && flights.length < maxInFlight() && (flights.length === 0 || ended || full())) {
        if (flights.length === 0 && config.linger > 0 && !ended && !full()) {
          await Promise.race([sleep(config.linger), once(events, 'full')])
          if (closing) return
        }
        flights.push(take())
      }
      if (flights.length === 0) {
        if (ended) return
        await once(events, 'more')
        continue
      }
      const head = flights[0]!
      // room for another send: it starts once a full batch waits; else the oldest must settle
      if (flights.length < maxInFlight() && !ended) await fullOrSettled(head.failure)
      else await head.failure
      if (closing) return
      if (!head.settled) continue
      if ((await head.failure) === undefined) {
        flights.shift()
        acked(head)
        continue
      }
      const outcomes = await Promise.all(flights.map((f) => f.failure))
      if (closing) return
      const first = outcomes.findIndex((error) => error !== undefined)
      for (const f of flights.splice(0, first)) acked(f)
      const again = flights.splice(0)
      const error = outcomes[first]
      if (!(error instanceof KafkaRejected)) {
        lastError = describeKafkaError(error)
        failingSince ||= Date.now()
        warn(`${where}: ${lastError}; retrying, nothing is dropped`)
        rt.counters.add('ConnectionFailedCount')
      }
      await producer.reset()
      for (const f of again) {
        await sendAll(f.records)
        if (closing) return
        acked(f)
      }
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
      const records = batch.lines ? lineRecords.records(batch.lines) : batch.heads.map((head) => toRecord(head, rules))
      // the records hold copies (their tails): the reader may frame later input into these bytes
      releaseEvents(batch)
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
    // input read at once (a short pipe): a connection still being made ends first, so a refused
    // login is said alone rather than after "waiting for N events"
    const connecting = producer.pendingConnect
    if (connecting && !fatal) await Promise.race([connecting.catch(() => undefined), sleep(config.connectTimeout)])
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
