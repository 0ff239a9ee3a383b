import { renameSync, unlinkSync, type Stats } from 'node:fs'
import { dirname } from 'node:path'
import { describeSystemError } from '../../core/errors.js'
import { error as logError, info } from '../../core/log.js'
import { sameInode } from '../file/identity.js'
import { describeChange, statOrUndefined, type Job, type SpoolFiles } from './files.js'
import { moveToQuarantine } from './quarantine.js'

// How a file leaves the spool: renamed (or deleted) once read to its end with every event
// durable, or moved to the quarantine when it changed under us or cannot be ingested.

// Read to the end and every event durable: the file is renamed (or deleted), or quarantined
// when it changed under us. Its entry goes once that is done.
export const finishFile = (files: SpoolFiles, job: Job): void => {
  if (!job.readDone || job.inflight > 0) return
  const { config, state } = files
  const { path, entry } = job
  const st = statOrUndefined(path)
  if (!st || !sameInode(st, entry)) {
    files.forget(job)
    info(
      `${path}: removed or replaced while it was being ingested; its stream ${entry.src} ends at event ${entry.seq} (a new file there is ingested on its own)`,
    )
    return
  }
  if (!job.spoiled && (st.size !== entry.size || st.mtimeMs !== entry.mtimeMs)) job.spoiled = describeChange(entry, st)
  if (job.spoiled) {
    files.forget(job)
    quarantine(
      files,
      path,
      `changed after it was picked up (${job.spoiled}); its first ${entry.seq} events were sent as stream ${entry.src}`,
      st,
    )
    return
  }
  try {
    if (config.deleteDone) unlinkSync(path)
    else renameSync(path, path + config.doneSuffix)
  } catch (e) {
    // the entry stays (at the file's end): a restart tries again without re-sending anything
    files.active.delete(path)
    files.skipWhileSame(path, st)
    files.failures++
    logError(
      `${path}: ingested, but cannot be ${config.deleteDone ? 'deleted' : 'renamed'}: ${describeSystemError(e).replace(`${path}: `, '')}`,
    )
    return
  }
  state.touched(dirname(path))
  files.forget(job)
  files.done++
  files.counters.add('FileCompletedCount')
}

// A file that cannot be ingested goes to the quarantine with one line saying why; if even
// that fails, it is skipped until it changes. The source goes on either way.
export const quarantine = (files: SpoolFiles, path: string, why: string, st?: Stats): void => {
  const { config } = files
  files.pendingOnce?.delete(path)
  files.failures++
  files.counters.add('FileQuarantinedCount')
  try {
    const target = moveToQuarantine(path, config.dir, config.quarantineDir)
    files.state.touched(dirname(path))
    logError(`${path}: ${why}: moved to ${target}`)
  } catch (e) {
    const now = st ?? statOrUndefined(path)
    if (now) files.skipWhileSame(path, now)
    logError(`${path}: ${why}; cannot move it to ${config.quarantineDir} either (${describeSystemError(e)}): skipped until it changes`)
  }
}
