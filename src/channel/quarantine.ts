import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { quarantineDir, segmentName } from './segments.js'
import { makeDirsSync } from '../core/make-dirs.js'

// Bytes that failed their checksum are never thrown away: they are copied to
// quarantine/<segment>@<offset>.bad before the channel skips (or cuts) them, so an operator can
// look at them. The name is stable, so finding the same bad record twice writes one file.
export const quarantine = (dir: string, segment: number, offset: number, bytes: Buffer): string => {
  makeDirsSync(quarantineDir(dir))
  const path = join(quarantineDir(dir), `${segmentName(segment)}@${offset}.bad`)
  let fd: number
  try {
    fd = openSync(path, 'wx')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return path
    throw error
  }
  try {
    writeSync(fd, bytes)
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  return path
}
