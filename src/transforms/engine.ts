import type { Runtime } from '../core/runtime.js'
import { ExitCode } from '../core/exit-codes.js'
import { info, warn } from '../core/log.js'
import { Chain } from './chain.js'
import type { Step } from './steps.js'

export interface FilterConfig {
  steps: Step[]
  maxLine: number
  truncate: boolean
  shutdownTimeout: number
}

// tsf filter: a stage of the ack link (docs/filter.md). Kept events go on with a cursor of our
// own and their batch is acked upstream once the reader after us acked them; a batch whose events
// were all dropped is acked at once (in input order, after the batches before it), so a route that
// passes nothing for hours never stalls its source or turns it best effort.
export const runFilter = async (config: FilterConfig, rt: Runtime): Promise<number> => {
  const chain = new Chain(config.steps)
  const { counters } = rt
  counters.gauge('EventKeptCount', () => chain.kept)
  counters.gauge('EventDroppedCount', () => chain.dropped)
  const input = rt.input({ maxLine: config.maxLine, truncate: config.truncate })
  const out = await rt.output()
  for await (const batch of input.batches()) {
    counters.add('EventReceivedCount', batch.heads.length)
    const kept = chain.run(batch.heads)
    if (!kept.length) {
      input.done(batch)
      continue
    }
    out.write(kept, () => {
      input.done(batch)
      counters.add('EventAcceptedCount', kept.length)
    })
    await out.ready()
  }
  const left = await out.end(config.shutdownTimeout)
  if (chain.missed) warn(`${chain.missed} event(s) had no timestamp where --ts-* looked: they keep the ts they came with`)
  info(`kept ${chain.kept} event(s), dropped ${chain.dropped} (acked upstream at once)`)
  if (left) {
    warn(
      `${left} kept event(s) not acked downstream within --shutdown-timeout: not acked upstream either, they are sent again after a restart`,
    )
    return ExitCode.failure
  }
  return ExitCode.ok
}
