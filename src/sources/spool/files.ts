import { statSync, type Stats } from 'node:fs'
import type { Counters } from '../../core/metrics.js'
import type { SpoolConfig } from './engine.js'
import type { SpoolEntry, SpoolState } from './state.js'

// One file from adoption to its rename (or deletion, or quarantine).
export interface Job {
  path: string
  entry: SpoolEntry
  // events written but not yet durable
  inflight: number
  readDone: boolean
  // why it goes to the quarantine instead of being marked done
  spoiled?: string
}

// The files of one run: those in flight (adopted, not finished), those skipped while they stay as
// they are, the ones --once still has to handle, and the counts the end reports. The scan
// (select.ts), the recovery (recover.ts), the reading (engine.ts) and the finishing (finish.ts)
// share it.
export class SpoolFiles {
  readonly active = new Map<string, Job>()
  // --once: the candidates present at the start that are not handled yet
  pendingOnce?: Set<string>
  // files quarantined, or ingested but not renamed: an error with --once
  failures = 0
  done = 0
  // files that could not be ingested nor moved away, by path: skipped while their signature stays
  private readonly stuck = new Map<string, string>()

  constructor(
    readonly config: SpoolConfig,
    readonly state: SpoolState,
    readonly counters: Counters,
  ) {}

  // A file adopted (or resumed after a restart): in flight until it is finished or let go.
  track(path: string, entry: SpoolEntry): Job {
    const job: Job = { path, entry, inflight: 0, readDone: false }
    this.active.set(path, job)
    return job
  }

  // Let go: no longer in flight, and its entry leaves the state.
  forget(job: Job): void {
    this.active.delete(job.path)
    this.state.delete(job.path)
  }

  // Skipped from now on, until the file at `path` is no longer what `st` says.
  skipWhileSame(path: string, st: Stats): void {
    this.stuck.set(path, signature(st))
  }

  // Is it skipped? A stuck file that changed is looked at again.
  skipped(path: string, st: Stats): boolean {
    const stuck = this.stuck.get(path)
    if (stuck === undefined) return false
    if (stuck === signature(st)) return true
    this.stuck.delete(path)
    return false
  }

  isStuck(path: string): boolean {
    return this.stuck.has(path)
  }
}

const signature = (st: Stats): string => `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`

export const statOrUndefined = (path: string): Stats | undefined => {
  try {
    return statSync(path)
  } catch {
    return undefined
  }
}

// How a file differs from what it was when adopted.
export const describeChange = (entry: SpoolEntry, st: Stats): string =>
  st.size !== entry.size
    ? `size ${entry.size} -> ${st.size} bytes`
    : st.mtimeMs !== entry.mtimeMs
      ? 'rewritten: its modification time changed'
      : 'it grew while being read'
