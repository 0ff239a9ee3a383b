import { randomBytes } from 'node:crypto'
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { type DirLock, lockDir, pidNote } from '../../core/dir-lock.js'
import { describeSystemError, TsfError } from '../../core/errors.js'
import { makeDirsSync } from '../../core/make-dirs.js'

// What every file source (tail, spool) keeps in its --state dir besides its checkpoints: a
// persistent agent id (so cloned servers never make the same src) and a lock (two processes on
// one state dir would hand out the same checkpoints).

// The agent id of this state dir, created on first use.
export const agentIdOf = (dir: string): string => {
  const path = join(dir, 'agent-id')
  try {
    const id = readFileSync(path, 'utf8').trim()
    if (/^[A-Za-z0-9_-]{8,64}$/.test(id)) return id
  } catch {
    // first run
  }
  const id = randomBytes(9).toString('base64url')
  atomicWrite(path, `${id}\n`)
  return id
}

// Creates the state dir if needed and locks it for this process (core's one lock); `who` names
// the command in the refusal ("tsf tail").
export const lockStateDir = async (dir: string, who: string): Promise<DirLock> => {
  try {
    makeDirsSync(dir)
  } catch (e) {
    throw new TsfError(`--state ${dir}: cannot create the state directory: ${describeSystemError(e)}`)
  }
  let lock: DirLock
  try {
    lock = await lockDir(dir, { kind: 'state' }, (pid) => `--state ${dir} is in use by another ${who}${pidNote(pid)}`)
  } catch (e) {
    if (e instanceof TsfError) throw e
    throw new TsfError(`--state ${dir}: ${describeSystemError(e)}`)
  }
  // the pid file that earlier versions locked the dir with: it locks nothing now, and left
  // behind it would only mislead whoever looks
  try {
    unlinkSync(join(dir, 'lock'))
  } catch {
    // none
  }
  return lock
}

// tmp + fsync + rename + fsync(dir): after a crash the file is either the old or the new one.
export const atomicWrite = (path: string, data: string): void => {
  const tmp = `${path}.tmp`
  try {
    const fd = openSync(tmp, 'w')
    try {
      writeSync(fd, data)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    renameSync(tmp, path)
    const dir = openSync(join(path, '..'), 'r')
    try {
      fsyncSync(dir)
    } finally {
      closeSync(dir)
    }
  } catch (e) {
    throw new TsfError(`${path}: cannot save it: ${describeSystemError(e)}`)
  }
}

// A rename made durable: fsync of its directory, as far as it can be done.
export const fsyncDir = (dir: string): void => {
  let fd: number | undefined
  try {
    fd = openSync(dir, 'r')
    fsyncSync(fd)
  } catch {
    // the directory is gone or not ours to sync: the rename is as durable as it can be
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}
