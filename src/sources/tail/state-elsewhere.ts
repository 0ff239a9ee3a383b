import { closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync } from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { UsageError } from '../../core/errors.js'
import type { FileEntry } from './checkpoint-store.js'
import { isSameFile } from '../file/identity.js'

// The default state dir is one per set of paths (state-dir.ts). Changing the list (adding a file,
// a glob instead of a name) gives a fresh dir, and every file would be read again as new streams
// that no sink can de-duplicate. So a tail starting on a fresh default dir looks in the other
// default dirs: a file it is about to read that already has checkpoints there makes it refuse,
// with the --state to pass to continue from them.
export const refuseIfCheckpointedElsewhere = (stateDir: string, files: string[]): void => {
  if (existsSync(join(stateDir, 'checkpoints.json')) || files.length === 0) return
  const base = dirname(stateDir)
  let dirs: string[]
  try {
    dirs = readdirSync(base).filter((d) => d.startsWith('tail-') && d !== basename(stateDir))
  } catch {
    return // no state at all yet
  }
  for (const d of dirs) {
    let entries: FileEntry[]
    try {
      entries = (JSON.parse(readFileSync(join(base, d, 'checkpoints.json'), 'utf8')) as { files: FileEntry[] }).files
    } catch {
      continue // no checkpoints there (or not ours): nothing to continue from
    }
    for (const path of files) {
      const known = knownAs(path, entries)
      if (known) {
        throw new UsageError(
          `${path} was read before by a tail of other paths (its checkpoints are in ${join(base, d)}): ` +
            `pass --state ${join(base, d)} to continue from them, or --state with a new directory to read it again as new streams`,
        )
      }
    }
  }
}

const knownAs = (path: string, entries: FileEntry[]): FileEntry | undefined => {
  let fd: number
  try {
    fd = openSync(path, 'r')
  } catch {
    return undefined
  }
  try {
    const st = fstatSync(fd)
    return entries.find((e) => e.pos > 0 && isSameFile(fd, st, e))
  } finally {
    closeSync(fd)
  }
}
