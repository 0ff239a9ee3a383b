import { once } from 'node:events'
import { statSync } from 'node:fs'
import { connect, createServer, type Server } from 'node:net'
import { TsfError } from '../core/errors.js'

// Who may write to a channel dir, and who reads it as a given reader, is decided by an abstract
// Unix socket named after the directory's device and inode: listening on it is holding the lock.
// The kernel drops it with its holder, so kill -9 never leaves a stale lock, and renaming or
// symlinking the dir does not fool it. Whoever connects learns the holder's pid.

export interface Lock {
  release(): void
}

const lockName = (dir: string, role: string): string => {
  const st = statSync(dir)
  return `\0tsf-channel.${st.dev}.${st.ino}.${role}`
}

const holderPid = async (path: string): Promise<string | undefined> => {
  const socket = connect({ path })
  socket.setTimeout(500)
  let text = ''
  socket.on('data', (d) => (text += d))
  await Promise.race([once(socket, 'close'), once(socket, 'timeout')]).catch(() => undefined)
  socket.destroy()
  return /^pid (\d+)/.exec(text)?.[1]
}

// role: "writer" or "reader.<name>"; what: how the error names the other holder.
export const acquireLock = async (dir: string, role: string, what: string): Promise<Lock> => {
  const path = lockName(dir, role)
  const server: Server = createServer((socket) => {
    socket.on('error', () => undefined)
    socket.end(`pid ${process.pid}\n`)
  })
  try {
    server.listen({ path })
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([e]) => Promise.reject(e))])
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      const pid = await holderPid(path)
      throw new TsfError(`${dir}: ${what}${pid ? ` (pid ${pid})` : ''}`)
    }
    throw error
  }
  server.unref()
  return { release: () => server.close() }
}

// Is someone holding this lock right now? (for --stat)
export const lockHolder = async (dir: string, role: string): Promise<string | undefined> => {
  const path = lockName(dir, role)
  const socket = connect({ path })
  const ok = await new Promise<boolean>((resolve) => {
    socket.once('connect', () => resolve(true))
    socket.once('error', () => resolve(false))
  })
  socket.destroy()
  if (!ok) return undefined
  return (await holderPid(path)) ?? '?'
}
