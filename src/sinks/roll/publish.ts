import { alternativeName } from './layout.js'
import type { RollState } from './state.js'
import type { RollStorage } from './storage.js'

// Turns a fully committed in-progress file into its final name, never overwriting a final file.
// The chosen name is committed to the state before the move, so that a crash in the middle is
// finished by the next start under the same name (and not published twice under two names).
export const publishFile = async (
  storage: RollStorage,
  state: RollState,
  rel: string,
  names: { stem: string; suffix: string; final?: string },
): Promise<string> => {
  const tried = new Set<string>()
  let candidate = names.final ?? alternativeName(names.stem, names.suffix, 0)
  for (let k = 0; ; ) {
    tried.add(candidate)
    const resuming = candidate === names.final
    if (resuming || !(await storage.exists(candidate))) {
      if (!resuming) await state.publishing(rel, candidate)
      if ((await storage.publish(rel, candidate)) === 'done') {
        await state.closed([rel])
        return candidate
      }
    }
    do candidate = alternativeName(names.stem, names.suffix, ++k)
    while (tried.has(candidate))
  }
}
