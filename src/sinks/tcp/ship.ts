import { ExitCode } from '../../core/exit-codes.js'
import { TsfError } from '../../core/errors.js'
import { eventCount } from '../../core/link/reader.js'
import type { Runtime } from '../../core/runtime.js'
import { aborted } from '../../core/shutdown.js'
import type { ReaderOptions, RunnerOptions } from '../../core/stage-options.js'
import { AgentReporter, type ReportOptions } from './agent-report.js'
import { staticHeaders } from '../../transforms/static-headers.js'
import { BestEffort } from './best-effort.js'
import { deliveryExit, deliveryWait, tellIfSlow } from '../delivery-end.js'
import { TcpSink, type TcpSinkOptions } from './sink.js'

export interface ShipConfig extends ReaderOptions, RunnerOptions, Omit<TcpSinkOptions, 'counters'> {
  // most input bytes held (queued or in flight) before we stop reading stdin
  window: number
  report: ReportOptions
  // -H K=V: static headers set on every event sent
  headers?: Record<string, string>
  // drop what the collectors cannot take instead of waiting (best-effort.ts)
  bestEffort?: boolean
}

// tsf ship: stdin → collectors. Each input batch is acked upstream only once every collector ack
// covering it is in, so `tsf tail | tsf ship` is end to end without a buffer of its own.
export const runShip = async (config: ShipConfig, rt: Runtime): Promise<number> => {
  // without -H the events go out as the bytes they came in (less their cursors): no heads made
  const input = rt.input({
    maxLine: config.maxLine,
    truncate: config.truncate,
    lines: !config.headers || Object.keys(config.headers).length === 0 ? 'events' : undefined,
    // the sink releases each batch once acked (releaseEvents): blocks are reused. A batch never
    // spans two, so with 1 MiB ones every other batch was a short one; 2 MiB ones hold two sends
    // of ~1 MiB, and the 8 MiB window takes 5-6 of them where it took four of 4 MiB (−5 MB in W1)
    linesBlock: 2 * 1024 * 1024,
  })
  // every destination refused us (token, protocol): retrying cannot help
  const refusal: { error?: Error } = {}
  let refusedNow = (): void => undefined
  const fatalSeen = new Promise<void>((resolve) => (refusedNow = resolve))
  const throwIfRefused = (): void => {
    if (refusal.error) throw new TsfError(`every destination refused us: ${refusal.error.message}`)
  }
  const sink = new TcpSink(
    { ...config, counters: rt.counters },
    {
      done: (batch) => input.done(batch),
      refused: (error) => {
        refusal.error ??= error
        refusedNow()
      },
    },
  )
  sink.start()
  const reporter = new AgentReporter(sink, rt.counters, config.report)
  reporter.start()
  const addHeaders = staticHeaders(config.headers)
  const bestEffort = config.bestEffort ? new BestEffort(input, rt.counters, config.window) : undefined
  const stopped = aborted(rt.stop)
  try {
    for await (const batch of input.batches()) {
      rt.counters.add('EventTakeSuccessCount', eventCount(batch))
      addHeaders?.(batch.heads)
      if (bestEffort && !bestEffort.admit(batch, sink.bytesHeld)) continue
      sink.add(batch)
      if (!bestEffort && sink.bytesHeld > config.window) {
        await Promise.race([sink.room(config.window, rt.stop), stopped, fatalSeen])
      }
      if (refusal.error) break
    }
    throwIfRefused()
    const end = { rt, input, shutdownTimeout: config.shutdownTimeout }
    const { how, wait } = deliveryWait(end)
    // (--best-effort acked them upstream already: what the collectors do not take is dropped)
    const waiting = bestEffort
      ? (): string =>
          `${how}: sending the last ${sink.unacked} events for up to ${wait} ms (already acked upstream, --best-effort: what the collectors do not take by then is dropped)`
      : (): string => `${how}: waiting up to ${wait} ms for ${sink.unacked} events to be acked`
    const left = await tellIfSlow(Promise.race([sink.flush(Date.now() + wait), fatalSeen.then(() => sink.unacked)]), waiting)
    throwIfRefused()
    if (bestEffort) return (bestEffort.finish(left), ExitCode.ok)
    return deliveryExit(end, left, wait, undefined, sink.lastErrors())
  } finally {
    reporter.stop()
    sink.close()
  }
}
