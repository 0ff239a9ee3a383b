import { copyFileSync, existsSync, renameSync, unlinkSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { makeDirsSync } from '../../core/make-dirs.js'

// Moves a file the spool cannot ingest (changed after pickup, a reused name, unreadable, binary)
// out of the way, keeping its path relative to the spool directory, so the source goes on with
// the others. Never overwrites: a name already taken in the quarantine gets a numeric suffix.
export const moveToQuarantine = (path: string, spoolDir: string, quarantineDir: string): string => {
  const rel = relative(spoolDir, path)
  let target = join(quarantineDir, rel.startsWith('..') ? path.replace(/\//g, '_') : rel)
  makeDirsSync(dirname(target))
  if (existsSync(target)) {
    let n = 1
    while (existsSync(`${target}.${n}`)) n++
    target = `${target}.${n}`
  }
  try {
    renameSync(path, target)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e
    // another filesystem: copy, then remove the original
    copyFileSync(path, target)
    unlinkSync(path)
  }
  return target
}
