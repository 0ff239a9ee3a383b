import { info, warn } from '../../core/log.js'
import { publishFile } from './publish.js'
import type { RollState } from './state.js'
import type { RollStorage } from './storage.js'

// On start, finish what a crashed (or killed) run left in progress: every in-progress file the
// state knows is cut back to its last commit (what follows was never acked: the upstream sends it
// again) and published under its final name. Nothing stays in progress across a restart.
export const recover = async (storage: RollStorage, state: RollState): Promise<void> => {
  for (const [rel, entry] of [...state.files]) {
    const length = await storage.length(rel)
    if (length === undefined) {
      if (entry.final !== undefined && (await storage.exists(entry.final))) {
        // the previous run published it and was stopped before it could record that
      } else if (entry.len > 0) {
        warn(`${storage.describe(rel)}: in-progress file with ${entry.len} committed bytes is gone (removed by hand?)`)
      }
      await state.closed([rel])
      continue
    }
    if (length > entry.len && state.uncertain.has(rel)) {
      // the record that committed these bytes may be a damaged one: keep them (a line
      // written twice is better than an acked line lost)
      entry.len = length
    }
    if (entry.len === 0) {
      await storage.remove(rel)
      await state.closed([rel])
      continue
    }
    if (length > entry.len) {
      await storage.truncate(rel, entry.len)
      info(
        `${storage.describe(rel)}: cut ${length - entry.len} bytes written after the last commit (never acked; the upstream sends them again)`,
      )
    } else if (length < entry.len) {
      warn(`${storage.describe(rel)}: shorter than its last commit (${length} < ${entry.len} bytes): something outside roll cut it`)
    }
    const final = await publishFile(storage, state, rel, entry)
    info(`finished ${storage.describe(final)} left in progress by the previous run`)
  }
}
