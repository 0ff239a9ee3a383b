import type { ReaderOptions } from '../core/stage-options.js'
import { TsfError } from '../core/errors.js'
import { ExitCode } from '../core/exit-codes.js'
import type { EventInput } from '../core/link/reader.js'
import { info, warn } from '../core/log.js'
import type { Runtime } from '../core/runtime.js'

// How a sink that delivers to servers (Kafka, MongoDB, the collectors) ends once its input is over: it waits for
// what it holds, then says what stays upstream and picks the exit code.

// What such a sink is told about sending, whatever the server.
export interface ServerShipConfig extends ReaderOptions {
  // most events / bytes in one send
  batchEvents: number
  batchBytes: number
  // how long a partial batch may wait to fill (see each engine for when)
  linger: number
  connectTimeout: number
  requestTimeout: number
  // longest wait between two attempts while the server is unreachable
  maxBackoff: number
  // most input bytes held before we stop reading stdin
  window: number
  shutdownTimeout: number
}

export interface DeliveryEnd {
  rt: Runtime
  input: EventInput
  shutdownTimeout: number
}

// If the linked upstream writer died, finish what we hold only as far as that is quick.
const UPSTREAM_LOST_GRACE = 5000

// Why the sink is ending and how long it may take to deliver what it holds.
export const deliveryWait = (end: DeliveryEnd): { how: string; wait: number } => ({
  how: end.rt.bySignal ? 'stopping' : end.input.upstreamLost ? 'upstream lost' : 'end of input',
  wait: end.input.upstreamLost ? Math.min(UPSTREAM_LOST_GRACE, end.shutdownTimeout) : end.shutdownTimeout,
})

// Resolves to `done`'s value, saying `waiting()` only when the wait is noticeable.
export const tellIfSlow = async <T>(done: Promise<T>, waiting: () => string): Promise<T> => {
  const telling = setTimeout(() => info(waiting()), 1000)
  try {
    return await done
  } finally {
    clearTimeout(telling)
  }
}

// Waits until `done` or the shutdown timeout (shorter when the upstream died), saying so when the
// wait is noticeable; resolves to the time allowed.
export const awaitDelivery = async (end: DeliveryEnd, done: Promise<unknown>, held: () => number, what: string): Promise<number> => {
  const { how, wait } = deliveryWait(end)
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise((resolve) => (timer = setTimeout(resolve, wait)))
  await tellIfSlow(Promise.race([done, timeout]), () => `${how}: waiting up to ${wait} ms for ${held()} events to be ${what}`)
  clearTimeout(timer)
  return wait
}

// 0 when everything was delivered or we stop on a signal (the upstream keeps the rest); 3 when the
// upstream died (it re-sends on restart); else a failure naming how many events stay upstream.
// (`where`, when given, names the server in the failure)
export const deliveryExit = (end: DeliveryEnd, left: number, wait: number, where: string | undefined, lastError: string): number => {
  if (left === 0) return ExitCode.ok
  if (end.rt.bySignal) {
    warn(`${left} events stay unacked upstream (the upstream still holds them): ${lastError}`)
    return ExitCode.ok
  }
  if (end.input.upstreamLost) {
    warn(`${left} events unacked; the upstream re-sends them on restart`)
    return ExitCode.upstreamLost
  }
  throw new TsfError(
    `delivery failed: ${left} events unacked after ${wait} ms (they stay unacked upstream, nothing is lost): ${where ? `${where}: ` : ''}${lastError}`,
  )
}
