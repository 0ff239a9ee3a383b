import { TsfError } from '../core/errors.js'
import { warn, warnOnce } from '../core/log.js'
import type { Runtime } from '../core/runtime.js'
import type { ReaderOptions } from '../core/stage-options.js'

// What every source says the same way (as src/sinks/delivery-end.ts does for the sinks): a line
// over --max-line, and the events still unacked when it ends.

// `n` more lines of `where` were over --max-line: counted, and said once per `key`.
export const warnOversize = (
  rt: Runtime,
  key: string,
  where: string,
  read: ReaderOptions,
  n: number,
  scope: 'said once' | 'said once per file',
): void => {
  rt.counters.add('OversizeLineCount', n)
  warnOnce(
    key,
    `${where}: a line longer than ${read.maxLine} bytes was ${read.truncate ? 'truncated (the rest dropped, flagged "truncated")' : 'cut into pieces marked "cont"'} (counted, ${scope})`,
  )
}

// At the end, `unacked` events the downstream did not ack within `within`: said on stderr with
// what becomes of them (`fate`), and an error unless the source was `stopped` (SIGTERM, or its
// stdout went away: then it is said as not delivered).
export const reportUnacked = (rt: Runtime, unacked: number, stopped: boolean, within: string, fate: string): void => {
  if (!unacked) return
  const why = stopped && !rt.bySignal ? 'not delivered (stdout went away)' : `not acked by the downstream within ${within}`
  warn(`${unacked} events ${why}${fate}`)
  if (!stopped) throw new TsfError(`${unacked} events left unacked`)
}
