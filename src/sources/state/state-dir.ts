import { randomBytes } from 'node:crypto'
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { describeSystemError, TsfError } from '../../core/errors.js'

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

// Creates the state dir if needed and takes dir/lock for this process; `who` names the command
// in the refusal ("tsf tail").
export const lockStateDir = (dir: string, who: string): string => {
  try {
    mkdirSync(dir, { recursive: true })
  } catch (e) {
    throw new TsfError(`--state ${dir}: cannot create the state directory: ${describeSystemError(e)}`)
  }
  const lockPath = join(dir, 'lock')
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lockPath, 'wx')
      writeSync(fd, `${process.pid}\n`)
      closeSync(fd)
      return lockPath
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw new TsfError(`--state ${dir}: ${describeSystemError(e)}`)
    }
    let pid = 0
    try {
      pid = Number(readFileSync(lockPath, 'utf8').trim())
    } catch {
      // removed meanwhile
    }
    if (pid > 0 && pid !== process.pid && alive(pid)) throw new TsfError(`--state ${dir} is in use by another ${who} (pid ${pid})`)
    try {
      unlinkSync(lockPath) // left by a process that died (kill -9)
    } catch {
      // someone else took it over: the next attempt tells
    }
  }
  throw new TsfError(`--state ${dir}: cannot take the lock`)
}

// A zombie (killed, not yet reaped: a container whose init does not reap) holds no lock.
const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat[stat.lastIndexOf(')') + 2] !== 'Z'
  } catch {
    return true // no /proc: trust kill(0)
  }
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
