import { Backoff } from '../core/backoff.js'
import { TsfError } from '../core/errors.js'
import type { InputBatch, InputOptions } from '../core/link/reader.js'
import { info, warn } from '../core/log.js'
import type { Runtime } from '../core/runtime.js'
import { aborted } from '../core/shutdown.js'
import { Changes } from '../core/wait.js'
import { awaitDelivery, deliveryExit, type ServerShipConfig } from './delivery-end.js'

// The one drain loop of the sinks that deliver to a server (Kafka, MongoDB): stdin is read into
// the driver's queue, cut into sends, sent several at a time, and each input batch is acked
// upstream once the sends covering it are over. The driver says how events become the server's
// items and how one send goes; the loop owns the pipeline, the run of failures and the end.

// A send of events, as the driver cut it.
export interface BatchDriver<Send> {
  // the events and bytes held waiting (not yet taken into a send)
  readonly events: number
  readonly bytes: number
  // holds an input batch until sends cover it; returns its events (0: nothing held, acked at once)
  push(batch: InputBatch): number
  // the next send, up to --batch-events and --batch-bytes; undefined when none can go yet
  take(): Send | undefined
  // events in a send
  size(send: Send): number
  // Resolves once the server took every event of the send (or set it aside); retries what may
  // succeed, telling each failure to `failures`; throws a TsfError when nothing will.
  send(send: Send, failures: FailureRun): Promise<void>
  // the send is over: the input batches it completes, to be acked upstream
  delivered(send: Send): Iterable<InputBatch>
  // most sends in flight at once
  inFlight(): number
  // Set when the sends must reach the server in the order they were cut (a Kafka partition): a
  // partial batch lingers only while nothing is in flight, each send is tried once, and after a
  // failed one everything in flight settles, `restart` runs and the failed send and those after it
  // go again, one by one, through `send`. Unset, the sends are independent: each acks as it ends
  // (the reader puts the acks in order), and a partial batch lingers while others are in flight.
  ordered?: {
    // one try: rejects with the server's answer
    attempt(send: Send): Promise<void>
    // after a failed attempt, before the sends go again
    restart(error: unknown, failures: FailureRun): Promise<void>
  }
  // the input ended: what the end waits for before it waits for delivery (Kafka: a connection
  // still being made, so a refused login is said alone)
  ending?(): Promise<void>
  // everything was delivered or the wait is over, without a fatal error: a last word
  finished?(): void
  // closes the client (allowed 2 s)
  close(): Promise<void>
}

export interface BatchSinkOptions {
  // the destination's name in messages
  where: string
  // what happens to delivered events: 'acked by Kafka'
  what: string
  // the failure named when nothing answered: 'no ack from Kafka'
  silence: string
  // says that a run of failures ended: '<resumed> again after N s'
  resumed: string
  // the reader's options
  input: InputOptions
}

// A run of failed attempts against the server, however many sends see it: its first failure says
// nothing is dropped, a changed error is said again, the end of the run says how long it lasted.
export class FailureRun {
  // when the run began (0: delivering)
  private since = 0
  last: string | undefined

  constructor(
    private readonly rt: Runtime,
    private readonly options: BatchSinkOptions,
    private readonly maxBackoff: number,
    private readonly closes: Changes,
  ) {}

  // set once the sink closes: every loop of the sink (its drain, a retry) stops
  closing = false

  close(): void {
    this.closing = true
    this.closes.changed()
  }

  failed(text: string): void {
    this.rt.counters.add('ConnectionFailedCount')
    if (!this.since) {
      this.since = Date.now()
      warn(`${this.options.where}: ${text}; retrying, nothing is dropped`)
    } else if (text !== this.last) warn(`${this.options.where}: ${text}`)
    this.last = text
  }

  succeeded(): void {
    if (this.since) info(`${this.options.where}: ${this.options.resumed} again after ${Math.round((Date.now() - this.since) / 1000)} s`)
    this.since = 0
    this.last = undefined
  }

  // the waits of one retry loop
  backoff(): Backoff {
    return new Backoff({ initial: 200, max: this.maxBackoff })
  }

  // a pause that closing cuts short
  async pause(ms: number): Promise<void> {
    if (!this.closing) await this.closes.next(ms)
  }
}

export const runBatchSink = async <Send>(
  config: ServerShipConfig,
  rt: Runtime,
  driver: BatchDriver<Send>,
  options: BatchSinkOptions,
): Promise<number> => {
  const input = rt.input(options.input)
  // input read, a send over, the end, a fatal error
  const changes = new Changes()
  // the sink closing (cuts pauses short)
  const closes = new Changes()
  const failures = new FailureRun(rt, options, config.maxBackoff, closes)
  let inflight = 0
  let inflightEvents = 0
  let ended = false
  let fatal: Error | undefined
  rt.counters.gauge('ChannelSize', () => driver.events + inflightEvents)
  const full = (): boolean => driver.events >= config.batchEvents || driver.bytes >= config.batchBytes
  const fail = (error: Error): void => {
    fatal ??= error
    // stop waiting for input that may be slow to come (tail -F): the failure is to be said now
    input.stop()
    changes.changed()
  }
  const started = (send: Send): void => {
    inflightEvents += driver.size(send)
  }
  const acked = (send: Send): void => {
    inflightEvents -= driver.size(send)
    for (const batch of driver.delivered(send)) input.done(batch)
    changes.changed()
  }

  // Independent sends: up to inFlight at once, each acked as it ends.
  const unordered = async (): Promise<void> => {
    while (!failures.closing && !fatal) {
      if (inflight >= driver.inFlight()) {
        await changes.next()
        continue
      }
      if (driver.events === 0) {
        if (ended && inflight === 0) return
        await changes.next()
        continue
      }
      if (config.linger > 0 && inflight > 0 && !ended && !full()) await changes.next(config.linger)
      const send = driver.take()
      if (send === undefined) {
        await changes.next()
        continue
      }
      inflight++
      started(send)
      driver
        .send(send, failures)
        .then(
          () => acked(send),
          (error: Error) => {
            if (!failures.closing) fail(error)
          },
        )
        .finally(() => {
          inflight--
          changes.changed()
        })
    }
  }

  // Ordered sends, pipelined: a new one starts when nothing is in flight or a full batch waits.
  interface Flight {
    send: Send
    // resolves to the attempt's error, undefined once the server took it
    failure: Promise<unknown>
    settled: boolean
  }
  const ordered = async (order: NonNullable<BatchDriver<Send>['ordered']>): Promise<void> => {
    const flights: Flight[] = []
    const start = (send: Send): Flight => {
      started(send)
      const flight: Flight = { send, failure: Promise.resolve(), settled: false }
      flight.failure = order.attempt(send).then(
        () => undefined,
        (error: unknown) => error ?? new Error('send failed'),
      )
      void flight.failure.then(() => (flight.settled = true))
      return flight
    }
    const linger = async (): Promise<void> => {
      const until = Date.now() + config.linger
      for (let left = config.linger; left > 0 && !failures.closing && !ended && !full(); left = until - Date.now()) await changes.next(left)
    }
    while (!failures.closing) {
      while (driver.events && flights.length < driver.inFlight() && (flights.length === 0 || ended || full())) {
        if (flights.length === 0 && config.linger > 0 && !ended && !full()) {
          await linger()
          if (failures.closing) return
        }
        const send = driver.take()
        if (send === undefined) break
        flights.push(start(send))
      }
      if (flights.length === 0) {
        if (ended) return
        await changes.next()
        continue
      }
      const head = flights[0]!
      // room for another send: it starts once a full batch waits; else the oldest must settle
      if (flights.length < driver.inFlight() && !ended) await Promise.race([head.failure, changes.next()])
      else await head.failure
      if (failures.closing) return
      if (!head.settled) continue
      if ((await head.failure) === undefined) {
        flights.shift()
        acked(head.send)
        continue
      }
      const outcomes = await Promise.all(flights.map((f) => f.failure))
      if (failures.closing) return
      const first = outcomes.findIndex((error) => error !== undefined)
      for (const f of flights.splice(0, first)) acked(f.send)
      const again = flights.splice(0)
      await order.restart(outcomes[first], failures)
      for (const f of again) {
        await driver.send(f.send, failures)
        if (failures.closing) return
        acked(f.send)
      }
    }
  }

  const sending = (driver.ordered ? ordered(driver.ordered) : unordered()).catch(fail)
  // every send over (unordered ones may outlive the loop that started them)
  const drained = async (): Promise<void> => {
    await sending
    while (inflight > 0) await changes.next()
  }

  const stopped = aborted(rt.stop)
  try {
    for await (const batch of input.batches()) {
      const events = driver.push(batch)
      rt.counters.add('EventTakeSuccessCount', events)
      if (events === 0) {
        input.done(batch)
        continue
      }
      changes.changed()
      while (driver.bytes > config.window && !fatal && !rt.stop.aborted) await Promise.race([changes.next(), stopped])
      if (fatal) break
    }
    ended = true
    changes.changed()
    if (!fatal) await driver.ending?.()
    const end = { rt, input, shutdownTimeout: config.shutdownTimeout }
    const held = (): number => driver.events + inflightEvents
    const wait = await awaitDelivery(end, drained(), held, options.what)
    const left = held()
    if (fatal) throw new TsfError(`${fatal.message}; ${left} events stay unacked upstream`)
    driver.finished?.()
    return deliveryExit(end, left, wait, options.where, failures.last ?? options.silence)
  } finally {
    failures.close()
    changes.changed()
    await Promise.race([driver.close(), new Promise((resolve) => setTimeout(resolve, 2000).unref())])
  }
}
