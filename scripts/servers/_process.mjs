// Shared by the server modules (a leading "_" keeps scripts/servers.mjs from taking it for a
// server): where a server's files live, the JVM, spawning a detached server with its pid file,
// knowing it is ours, and stopping its process group.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import path from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
export const JAVA = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java'
// How long start() waits for a server to be ready (a cold JVM on a loaded machine is slow).
export const READY_TIMEOUT_MS = Number(process.env.TSF_TEST_SERVER_TIMEOUT_MS || 120_000)

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** test-servers/<name>: its pom.xml and config (DIR), its jars (LIB) and its runtime files (RUN). */
export function serverDirs(name) {
  const DIR = path.join(ROOT, 'test-servers', name)
  return { DIR, LIB: path.join(DIR, 'lib'), RUN: path.join(DIR, 'run') }
}

/** The pid in `file`, or null when there is none. */
export function readPid(file) {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim())
    return Number.isInteger(pid) && pid > 0 ? pid : null
  } catch {
    return null
  }
}

/** True when pid is alive and its command line holds every mark (guards against pid reuse). */
export function cmdlineHas(pid, ...marks) {
  try {
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    return marks.every((m) => cmd.includes(m))
  } catch {
    return false
  }
}

/** Whether nothing listens on host:port. */
export function portFree(host, port) {
  return new Promise((resolve) => {
    const s = net.createServer()
    s.once('error', () => resolve(false))
    s.listen(port, host, () => s.close(() => resolve(true)))
  })
}

/**
 * Spawns cmd detached (its own process group: it outlives the caller), stdout and stderr into
 * `log` (appended with append: true), its pid into `pidFile`. Returns { pid, exited }: exited
 * turns from null into how it ended ("exit 1", "SIGKILL", a spawn error) if it ends.
 */
export function spawnDetached(cmd, args, { cwd, log, pidFile, append = false }) {
  const out = fs.openSync(log, append ? 'a' : 'w')
  const child = spawn(cmd, args, { cwd, detached: true, stdio: ['ignore', out, out] })
  fs.closeSync(out)
  const state = { exited: null, pid: child.pid }
  child.on('exit', (code, sig) => {
    state.exited = sig ?? `exit ${code}`
  })
  child.on('error', (e) => {
    state.exited = e.message
  })
  if (child.pid) fs.writeFileSync(pidFile, `${child.pid}\n`)
  child.unref()
  return state
}

/**
 * Sends `signal` to the process group of `pid` (or to pid alone), waits up to `timeoutMs` while
 * `ours()` says it is still our server, then SIGKILLs it and waits until it is gone.
 */
export async function stopGroup(pid, ours, { signal = 'SIGTERM', timeoutMs = 15_000 } = {}) {
  const kill = (sig) => {
    try {
      process.kill(-pid, sig)
    } catch {
      try {
        process.kill(pid, sig)
      } catch {
        /* gone */
      }
    }
  }
  kill(signal)
  const until = Date.now() + timeoutMs
  while (ours() && Date.now() < until) await sleep(50)
  if (ours()) {
    kill('SIGKILL')
    while (ours()) await sleep(50)
  }
}
