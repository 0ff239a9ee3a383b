import { hostname } from 'node:os'
import { ExitCode } from '../../core/exit-codes.js'
import { info, warn } from '../../core/log.js'
import type { Runtime } from '../../core/runtime.js'
import { aborted } from '../../core/shutdown.js'
import { Backoff } from '../../core/backoff.js'
import { pause } from '../../core/wait.js'
import { TsfError } from '../../core/errors.js'
import { KafkaConsumer, type FetchedBatch } from '../../kafka/consumer.js'
import { describeKafkaError, isAuthFailure } from '../../kafka/errors.js'
import type { KafkaSecurity } from '../../kafka/security.js'
import type { KafkaUrl } from '../../kafka/url.js'
import { PrintSink } from '../../sinks/print.js'
import type { EventSink } from '../../core/event-sink.js'
import { headStrings } from '../../core/head-block.js'
import type { EventOutput } from '../../core/link/writer.js'
import { OffsetCommitter } from './offsets.js'
import { RecordHeads } from './record-heads.js'

export interface KafkaCollectConfig {
  url: KafkaUrl
  group: string
  // where a group without committed offsets starts: the oldest record, or only new ones
  fromBeginning: boolean
  print: boolean
  connectTimeout: number
  requestTimeout: number
  // the group evicts a member silent for this long (heartbeats go on while downstream is slow)
  sessionTimeout: number
  // offsets of durable events are committed at most this often
  commitInterval: number
  maxBytesPerPartition: number
  shutdownTimeout: number
  security?: KafkaSecurity
}

// How long to keep committing offsets at shutdown, after the downstream acked.
const COMMIT_GRACE = 5000

// tsf collect --from kafka://brokers/topic --group G: a consumer group member writing records as
// events to stdout. A partition's offset is committed only once everything before it was acked
// downstream (at-least-once; exact with a sink that dedupes on src/seq). Runs until a signal.
export const runKafkaCollect = async (config: KafkaCollectConfig, rt: Runtime): Promise<number> => {
  const printer = config.print ? new PrintSink() : undefined
  const output: EventOutput | undefined = printer ? undefined : await rt.output()
  const sink: EventSink = printer ?? output!
  const where = `${config.url.name} (group ${config.group})`
  let consumer: KafkaConsumer | undefined
  let stopping = false
  let lastError: string | undefined
  const committer = new OffsetCommitter({
    commit: (offsets) => consumer!.commit(offsets),
    isAssigned: (topic, partition) => consumer?.isAssigned(topic, partition) ?? false,
    interval: config.commitInterval,
    onError: (error) => report(`committing offsets: ${describeKafkaError(error)} (retrying; uncommitted records are re-read, not lost)`),
  })
  // say a failure once, and again only when it changes
  const report = (text: string): void => {
    if (text !== lastError) warn(`${where}: ${text}`)
    lastError = text
  }

  const onBatch = async (batch: FetchedBatch): Promise<void> => {
    const { topic, partition, records } = batch
    const count = records.index.length
    if (stopping || count === 0) return
    // the records rendered from the fetched bytes (record-heads.ts)
    const heads = new RecordHeads(topic, partition, records)
    const last = records.set.offset(records.index[count - 1]!)
    const next = (BigInt(last) + 1n).toString()
    rt.counters.add('EventReceivedCount', count)
    const acked = () => {
      rt.counters.add('EventAcceptedCount', count)
      committer.durable(topic, partition, next)
    }
    if (output) output.write(heads, acked)
    else sink.write(headStrings(heads), acked)
    batch.advance(last)
    lastError = undefined
    await readyWithHeartbeats(sink, batch)
  }

  let consuming = false
  const start = async (): Promise<void> => {
    const backoff = new Backoff({ initial: 500, max: 10_000 })
    while (!stopping) {
      const c = new KafkaConsumer({
        brokers: config.url.brokers,
        clientId: `tsf-collect@${hostname()}`,
        connectTimeout: config.connectTimeout,
        requestTimeout: config.requestTimeout,
        groupId: config.group,
        topic: config.url.topic,
        fromBeginning: config.fromBeginning,
        sessionTimeout: config.sessionTimeout,
        maxBytesPerPartition: config.maxBytesPerPartition,
        security: config.security,
      })
      c.onJoin((assignment) => {
        const parts =
          assignment.map((a) => `${a.topic}[${a.partitions.join(',')}]`).join(' ') || 'no partitions (more members than partitions)'
        info(`group ${config.group}: assigned ${parts}`)
      })
      c.onCrash((error, restarting) =>
        report(`${describeKafkaError(error)}${restarting ? '; the consumer restarts, nothing is lost' : ''}`),
      )
      consumer = c
      try {
        await c.start(onBatch)
        consuming = true
        info(`consuming ${config.url.name} as group ${config.group}`)
        return
      } catch (error) {
        await c.close()
        if (stopping) return
        // the same credentials will be refused again: say so and stop (nothing was consumed)
        if (isAuthFailure(error)) throw new TsfError(`${config.url.name}: ${describeKafkaError(error)}`)
        report(`${describeKafkaError(error)}; retrying, nothing is lost`)
        await pause(backoff.next(), rt.stop)
      }
    }
  }

  try {
    const starting = start()
    // start() rejects only on a refused login: that ends the run at once
    const refused = starting.then(() => new Promise<void>(() => undefined))
    await Promise.race([aborted(rt.stop), printer ? printer.closed : new Promise(() => undefined), refused])
    stopping = true
    await starting
    consumer?.pauseAll()
    const left = await sink.end(config.shutdownTimeout)
    const uncommitted = await committer.drain(Date.now() + COMMIT_GRACE)
    if (!consuming) info(`stopped before ${config.url.name} could be reached: nothing was consumed`)
    else if (left) warn(`${left} events were not acked downstream; their offsets are not committed and they will be read again`)
    else if (uncommitted) warn(`offsets of ${uncommitted} partitions could not be committed: their last records will be read again`)
    else info('all events acked downstream and their offsets committed')
    return ExitCode.ok
  } finally {
    stopping = true
    await consumer?.close()
  }
}

// Back pressure: wait until the downstream has room, heartbeating so the group keeps us.
const readyWithHeartbeats = async (sink: EventSink, batch: FetchedBatch): Promise<void> => {
  const ready = sink.ready().then(() => true)
  for (;;) {
    let timer: NodeJS.Timeout | undefined
    const done = await Promise.race([ready, new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), 1000)))])
    clearTimeout(timer)
    if (done || !batch.isRunning()) return
    await batch.heartbeat()
  }
}
