import { closeSync, openSync, statSync, type Stats } from 'node:fs'
import { info } from '../../core/log.js'
import { readAt } from '../../core/read-at.js'
import { FINGERPRINT_BYTES, hashBytes, sameInode } from '../file/identity.js'
import { describeChange, statOrUndefined, type Job, type SpoolFiles } from './files.js'
import { quarantine } from './finish.js'
import type { SpoolEntry } from './state.js'

// After a restart: each file adopted but not finished is resumed where its acks stood, unless
// it changed meanwhile (quarantined) or is gone (finished, or removed by someone).
export const recoverJobs = (files: SpoolFiles): Job[] => {
  const { config, state } = files
  const jobs: Job[] = []
  for (const entry of [...state.entries.values()]) {
    const { path } = entry
    let st: Stats
    try {
      st = statSync(path)
    } catch {
      state.delete(path)
      if (config.deleteDone) {
        if (entry.pos === entry.size) continue // deleted just before a crash
      } else {
        const renamed = statOrUndefined(path + config.doneSuffix)
        if (renamed && sameInode(renamed, entry)) continue // renamed just before a crash
      }
      info(`${path}: gone while spool was down; its stream ${entry.src} ends at offset ${entry.pos}`)
      continue
    }
    if (!sameInode(st, entry)) {
      state.delete(path)
      info(
        `${path}: replaced by another file while spool was down; its stream ${entry.src} ends at offset ${entry.pos}, the new file is ingested on its own`,
      )
      continue
    }
    const changed = st.size !== entry.size || st.mtimeMs !== entry.mtimeMs ? describeChange(entry, st) : headChanged(entry)
    if (changed) {
      state.delete(path)
      quarantine(
        files,
        path,
        `changed after it was picked up (${changed}) while spool was down; ${entry.seq} events of it were already sent`,
        st,
      )
      continue
    }
    if (entry.pos > 0) info(`${path}: resuming at offset ${entry.pos} (event ${entry.seq + 1})`)
    jobs.push(files.track(path, entry))
  }
  state.save()
  return jobs
}

// Do the file's first bytes still hash as they did when it was adopted?
const headChanged = (entry: SpoolEntry): string | undefined => {
  try {
    const fd = openSync(entry.path, 'r')
    try {
      return hashBytes(readAt(fd, 0, Math.min(FINGERPRINT_BYTES, entry.size))) === entry.headHash ? undefined : 'its first bytes differ'
    } finally {
      closeSync(fd)
    }
  } catch {
    return undefined // unreadable now: the engine's ingest says so
  }
}
