import { once } from 'node:events'
import { statSync } from 'node:fs'
import { connect, createServer, type Server } from 'node:net'
import { TsfError } from './errors.js'

// The one lock of tsf (a channel dir, a file source's --state dir, roll's output root): an
// abstract Unix socket named after the directory's device and inode; listening on it is holding
// the lock. The kernel drops it with its holder (a zombie too), so kill -9 never leaves a stale
// lock and a reused pid never fakes one; renaming or symlinking the dir does not fool it.
// Whoever connects learns the holder's pid.

export interface DirLock {
  release(): void
}

// kind: whose lock ("channel", "state", "roll"); role: one of several locks of a dir (the
// channel's "writer" and "reader.<name>").
export interface LockKey {
  kind: string
  role?: string
}

export const dirLockName = (dir: string, key: LockKey): string => {
  const st = statSync(dir)
  return `\0tsf-${key.kind}.${st.dev}.${st.ino}${key.role ? `.${key.role}` : ''}`
}

// A holder answers at once, a busy one (a long read in its turn) a moment later.
const ASK_TIMEOUT = 2000

// The holder's pid; undefined when nobody listens any more or the holder does not answer.
const holderPid = async (path: string): Promise<string | undefined> => {
  const socket = connect({ path })
  socket.setTimeout(ASK_TIMEOUT)
  socket.on('error', () => undefined)
  let text = ''
  socket.on('data', (d) => (text += d))
  await Promise.race([once(socket, 'close'), once(socket, 'timeout')]).catch(() => undefined)
  socket.destroy()
  return /^pid (\d+)/.exec(text)?.[1]
}

const listen = async (path: string): Promise<Server | undefined> => {
  const server = createServer((socket) => {
    socket.on('error', () => undefined)
    socket.end(`pid ${process.pid}\n`)
  })
  try {
    server.listen({ path })
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([e]) => Promise.reject(e))])
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') return undefined
    throw error
  }
  server.unref()
  return server
}

// Takes the lock of an existing dir for this process, or throws the one-line refusal that
// `refused` words (the holder's pid when it answers).
export const lockDir = async (dir: string, key: LockKey, refused: (pid: string | undefined) => string): Promise<DirLock> => {
  const path = dirLockName(dir, key)
  let pid: string | undefined
  for (let attempt = 0; attempt < 2; attempt++) {
    const server = await listen(path)
    if (server) return { release: () => server.close() }
    pid = await holderPid(path)
    if (pid) break // else the holder may just have gone: try once more
  }
  throw new TsfError(refused(pid))
}

// " (pid N)" for a refusal, or nothing when the holder did not say.
export const pidNote = (pid: string | undefined): string => (pid ? ` (pid ${pid})` : '')

// Who holds this lock right now: its pid, '?' when it does not answer, undefined when nobody.
export const dirLockHolder = async (dir: string, key: LockKey): Promise<string | undefined> => {
  const path = dirLockName(dir, key)
  const socket = connect({ path })
  const ok = await new Promise<boolean>((resolve) => {
    socket.once('connect', () => resolve(true))
    socket.once('error', () => resolve(false))
  })
  socket.destroy()
  if (!ok) return undefined
  return (await holderPid(path)) ?? '?'
}
