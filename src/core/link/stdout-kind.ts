import { fstatSync, readdirSync, readFileSync, readlinkSync } from 'node:fs'
import { connect } from 'node:net'
import { basename } from 'node:path'
import { readerAnnouncePath } from './cursor.js'

// What our stdout is decides how a writer may checkpoint (docs/protocol.md).
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

interface PipeHolder {
  pid: number
  argv: string[]
  reads: boolean
}

// On Linux a process can see who holds its stdout pipe: every /proc/<pid>/fd entry that links to
// pipe:[inode], with the access mode in /proc/<pid>/fdinfo. Processes we may not look at are skipped.
const pipeHolders = (fd: number): PipeHolder[] => {
  try {
    return holdersOf(fstatSync(fd).ino)
  } catch {
    return []
  }
}

// A look reads every fd of every process: most of a writer's start-up cost on a busy machine, and
// a writer looks many times (mode.ts every 50 ms until its reader is known, checkShared three
// times). So each look remembers, per process, the fds that held the pipe, and the next look of
// the same pipe reads the fds only of processes that may be new: a process seen before that held
// no end of the pipe cannot have got one since, as a pipe end comes with a fork (a new process).
// Where one held it, those fds (and its argv: it may have exec'd) are read again, and the whole
// process if one of them changed. A pid may be reused: every pid the kernel handed out since the
// last look lies between the last pids it had handed out then and now (it allocates them in a
// ring), unless it went once round the ring; those pids are read as new. (A process that opens
// /proc/<pid>/fd/N or is passed the fd over a socket is seen when it is new, not after.)
interface Look {
  at: Allocator | undefined // the allocator just before this look listed /proc
  fds: Map<number, string[]> // per pid, its fds that held the pipe
}
const lookByPipe = new Map<number, Look>()

const holdersOf = (inode: number): PipeHolder[] => {
  const holders: PipeHolder[] = []
  const target = `pipe:[${inode}]`
  const at = allocator()
  let pids: string[]
  try {
    pids = readdirSync('/proc').filter((p) => /^\d+$/.test(p))
  } catch {
    return holders
  }
  const before = lookByPipe.get(inode)
  const mayBeNew = newPids(before?.at, allocator())
  const now = new Map<number, string[]>()
  for (const name of pids) {
    const pid = Number(name)
    if (pid === process.pid) continue
    const was = mayBeNew(pid) ? undefined : before?.fds.get(pid)
    const fds = was?.every((f) => linksTo(name, f, target)) ? was : fdsLinkedTo(name, target)
    if (fds === undefined) continue // not ours to look at, or gone
    now.set(pid, fds)
    for (const f of fds) {
      try {
        const flags = /flags:\s*([0-7]+)/.exec(readFileSync(`/proc/${name}/fdinfo/${f}`, 'latin1'))
        const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').filter(Boolean)
        holders.push({ pid, argv, reads: !flags || (parseInt(flags[1]!, 8) & 3) === 0 })
      } catch {
        continue // gone meanwhile
      }
    }
  }
  // the last few pipes looked at (stdout's, and those further down that readerDownstream follows)
  lookByPipe.delete(inode)
  lookByPipe.set(inode, { at, fds: now })
  if (lookByPipe.size > 8) lookByPipe.delete(lookByPipe.keys().next().value!)
  return holders
}

// Where the kernel's pid allocator stands: the last pid it handed out and the threads alive
// (/proc/loadavg), the forks since boot (/proc/stat). Undefined where that cannot be read, or
// where /proc shows another pid namespace than ours.
interface Allocator {
  last: number
  threads: number
  forks: number
}
let ring: number | undefined
const allocator = (): Allocator | undefined => {
  try {
    if (ring === undefined) {
      ring = readlinkSync('/proc/self') === String(process.pid) ? Number(readFileSync('/proc/sys/kernel/pid_max', 'latin1')) - 300 : 0
    }
    if (!(ring > 0)) return undefined
    const load = readFileSync('/proc/loadavg', 'latin1').trim().split(' ')
    const forks = /^processes (\d+)$/m.exec(readFileSync('/proc/stat', 'latin1'))
    const allocator = { last: Number(load[4]), threads: Number(load[3]?.split('/')[1]), forks: Number(forks?.[1]) }
    return Number.isInteger(allocator.last) && Number.isInteger(allocator.threads) && Number.isInteger(allocator.forks)
      ? allocator
      : undefined
  } catch {
    return undefined
  }
}

// Whether a pid may have been handed out between `from` (before the last look listed /proc) and
// `to` (after this look did): every pid when that is not known or the allocator may have gone
// round its ring (it moved one place per fork plus the pids in use it skipped: threads, and ids
// kept as a process group or session; half the ring leaves a wide margin for those).
const newPids = (from: Allocator | undefined, to: Allocator | undefined): ((pid: number) => boolean) => {
  if (!from || !to || to.forks - from.forks + to.threads >= ring! / 2) return () => true
  if (from.last <= to.last) return (pid) => pid > from.last && pid <= to.last
  return (pid) => pid > from.last || pid <= to.last
}

// The fds of a process that link to `target`; undefined when they cannot be read.
const fdsLinkedTo = (pid: string, target: string): string[] | undefined => {
  let fds: string[]
  try {
    fds = readdirSync(`/proc/${pid}/fd`)
  } catch {
    return undefined
  }
  return fds.filter((f) => linksTo(pid, f, target))
}

const linksTo = (pid: string, f: string, target: string): boolean => {
  try {
    return readlinkSync(`/proc/${pid}/fd/${f}`) === target
  } catch {
    return false // closed meanwhile
  }
}

const isShellOrNode = (argv: string[]): boolean => {
  const exe = basename(argv[0] ?? '').replace(/^-/, '')
  return shells.has(exe) || /^node(js)?(\d+)?$/.test(exe)
}

// Who reads our stdout pipe. 'unknown' while the only readers are shells that have not exec'd
// the real command yet, or node programs that have not announced themselves yet (the caller asks
// again a little later).
export const pipeReader = (fd = 1): PipeReader => {
  const readers = pipeHolders(fd).filter((h) => h.reads)
  if (readers.some((h) => isTsfCommandLine(h.argv))) return 'tsf'
  if (readers.some((h) => !isShellOrNode(h.argv))) return 'other'
  return readers.length ? 'unknown' : 'other'
}

// Our pipe is read by a program that is not tsf (grep, jq, sed): is a tsf reader further down,
// reading that program's stdout (`tsf tail | grep x | tsf ship`)? Then acks will come once the
// filter passes a cursor through, however long it buffers: 'tsf'. 'unknown' when a shell or node
// program further down may still become one; 'none' otherwise. Looks at most `depth` filters down.
export type Downstream = 'tsf' | 'unknown' | 'none'
export const readerDownstream = async (fd = 1, depth = 4): Promise<Downstream> => {
  let inodes: number[]
  try {
    inodes = [fstatSync(fd).ino]
  } catch {
    return 'none'
  }
  let unknown = false
  for (let hop = 0; hop < depth && inodes.length; hop++) {
    const next: number[] = []
    for (const inode of inodes) {
      for (const holder of holdersOf(inode)) {
        if (!holder.reads) continue
        if (isTsfCommandLine(holder.argv)) return 'tsf'
        // a shell further down may still exec into a tsf reader, a node program may not have
        // announced itself yet
        if (hop > 0 && isShellOrNode(holder.argv)) unknown = true
        const out = pipeInodeOf(holder.pid)
        if (out === undefined) continue
        if (await announcedOn(out)) return 'tsf'
        next.push(out)
      }
    }
    inodes = next
  }
  return unknown ? 'unknown' : 'none'
}

// The inode of the pipe a process writes its stdout into, if it is a pipe.
const pipeInodeOf = (pid: number): number | undefined => {
  try {
    const m = /^pipe:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/1`))
    return m ? Number(m[1]) : undefined
  } catch {
    return undefined
  }
}

// Our parent, its parent, and so on: processes that hold our stdout only because they started
// us (a shell waiting for its children, GNU time, timeout, sudo, a supervisor).
const ancestors = (): Set<number> => {
  const found = new Set<number>()
  let pid = process.ppid
  while (pid > 1 && !found.has(pid)) {
    found.add(pid)
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
      pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
    } catch {
      break
    }
  }
  return found
}

// Another program writes into the same pipe (`{ tsf tail a & tsf tail b; } | tsf ship`): writes
// must then be whole lines of at most PIPE_BUF bytes, or lines of the two writers interleave.
// A waiting parent (an ancestor of ours) does not count; any other holder of the write end does,
// even a forked shell that has not exec'd its command yet: it is about to become a writer.
export const pipeShared = (fd = 1): boolean => {
  const writers = pipeHolders(fd).filter((h) => !h.reads)
  if (writers.length === 0) return false
  const mine = ancestors()
  return writers.some((h) => !mine.has(h.pid))
}

// Whether a tsf reader announced itself on our stdout pipe (see readerAnnouncePath).
export const readerAnnounced = (fd = 1): Promise<boolean> => {
  try {
    return announcedOn(fstatSync(fd).ino)
  } catch {
    return Promise.resolve(false)
  }
}

const announcedOn = (inode: number): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = connect({ path: readerAnnouncePath(inode) })
    socket.on('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.on('error', () => resolve(false))
  })
