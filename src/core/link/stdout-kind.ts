import { fstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { connect } from 'node:net'
import { basename } from 'node:path'
import { readerAnnouncePath } from './cursor.js'

// What our stdout is decides how a writer may checkpoint (DESIGN.md §2).
export type StdoutKind =
  | 'file' // a regular file: fsync, then checkpoint
  | 'terminal' // a TTY: checkpoint on write
  | 'device' // /dev/null and other character devices: checkpoint on write
  | 'pipe' // a pipe: look at who reads it
  | 'socket' // a socket or anything else: treated like a pipe to a non-tsf reader
  | 'closed'

export const stdoutKind = (fd = 1): StdoutKind => {
  let st
  try {
    st = fstatSync(fd)
  } catch {
    return 'closed'
  }
  if (st.isFile()) return 'file'
  if (st.isCharacterDevice()) return process.stdout.isTTY && fd === 1 ? 'terminal' : 'device'
  if (st.isFIFO()) return 'pipe'
  return 'socket'
}

export type PipeReader = 'tsf' | 'other' | 'unknown'

// A process is a tsf command when it runs the tsf entry point under node (or a tsf binary).
export const isTsfCommandLine = (argv: string[]): boolean => {
  const exe = basename(argv[0] ?? '')
  if (exe === 'tsf') return true
  if (!/^node(js)?(\d+)?$/.test(exe)) return false
  // node [node options] /path/to/bin/tsf.js ...: the first argument that is not an option
  const script = argv.slice(1).find((a) => !a.startsWith('-'))
  return script !== undefined && /(^|\/)(tsf|tsf\.js|cli\.js)$/.test(script) && (basename(script) !== 'cli.js' || script.includes('tsf'))
}

const shells = new Set(['sh', 'bash', 'dash', 'zsh', 'ksh', 'mksh', 'busybox', 'fish'])

// On Linux the writer can see who holds the read end of its stdout pipe: every /proc/<pid>/fd
// entry that links to pipe:[inode] and is open read-only. 'unknown' while the only readers are
// shells that have not exec'd the real command yet, or node programs that have not announced
// themselves yet (the caller asks again a little later).
export const pipeReader = (fd = 1): PipeReader => {
  let inode: number
  try {
    inode = fstatSync(fd).ino
  } catch {
    return 'other'
  }
  const target = `pipe:[${inode}]`
  let sawShell = false
  let sawOther = false
  let pids: string[]
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p))
  } catch {
    return 'other'
  }
  for (const pid of pids) {
    if (Number(pid) === process.pid) continue
    let fds: string[]
    try {
      fds = readdirSync(`/proc/${pid}/fd`)
    } catch {
      continue // not ours to look at, or gone
    }
    for (const f of fds) {
      let link: string
      try {
        link = readlinkSync(`/proc/${pid}/fd/${f}`)
      } catch {
        continue
      }
      if (link !== target) continue
      try {
        const flags = /flags:\s*([0-7]+)/.exec(readFileSync(`/proc/${pid}/fdinfo/${f}`, 'latin1'))
        if (flags && (parseInt(flags[1]!, 8) & 3) !== 0) continue // a write end
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean)
        if (isTsfCommandLine(argv)) return 'tsf'
        // A shell may still exec into a tsf reader, and a node program may be one that has not
        // announced itself yet: both are 'unknown' for a while (see the writer's shellGrace).
        const exe = basename(argv[0] ?? '').replace(/^-/, '')
        if (shells.has(exe) || /^node(js)?(\d+)?$/.test(exe)) sawShell = true
        else sawOther = true
      } catch {
        continue
      }
    }
  }
  if (sawOther) return 'other'
  return sawShell ? 'unknown' : 'other'
}

// Whether a tsf reader announced itself on our stdout pipe (see readerAnnouncePath).
export const readerAnnounced = (fd = 1): Promise<boolean> =>
  new Promise((resolve) => {
    let inode: number
    try {
      inode = fstatSync(fd).ino
    } catch {
      return resolve(false)
    }
    const socket = connect({ path: readerAnnouncePath(inode) })
    socket.on('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.on('error', () => resolve(false))
  })
