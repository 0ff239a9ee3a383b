import { closeSync, fstatSync, openSync, readlinkSync, statSync, type Stats } from 'node:fs'
import { describeSystemError } from '../../core/errors.js'
import { error as logError, info, warn } from '../../core/log.js'
import type { FileEntry } from './checkpoint-store.js'
import type { Copies } from './copies.js'
import type { TailConfig } from './engine.js'
import type { FileTail } from './file-tail.js'
import { inodeKey, type TailFiles } from './files.js'
import { isSameFile, markMatches, readHead } from '../file/identity.js'
import { expand } from './paths.js'

// Where an open file is now (Linux: /proc/self/fd); undefined when deleted or unknown.
const currentPath = (fd: number): string | undefined => {
  try {
    const path = readlinkSync(`/proc/self/fd/${fd}`)
    return path.startsWith('/') && !path.endsWith(' (deleted)') ? path : undefined
  } catch {
    return undefined
  }
}

// Is this inode still at that path (a second name, a symlink, rather than a rename)?
const sameFileAt = (path: string, st: Stats): boolean => {
  try {
    const now = statSync(path)
    return now.dev === st.dev && now.ino === st.ino
  } catch {
    return false
  }
}

// The listing of tail's operands: adopts the files not followed yet (a generation known by its
// identity, a copytruncate copy, or a new stream), marks the ones gone from every watched path as
// rotated, and says each problem with a path once.
export class Scanner {
  // the directories the last listing watched
  dirs: string[] = []
  // the first listing (at start): --from-end applies, what is there is taken as it is
  initial = true
  // problems said as failures (exit 1 for a run without --follow)
  failures = 0
  private readonly reported = new Set<string>()

  constructor(
    private readonly config: TailConfig,
    private readonly files: TailFiles,
    private readonly copies: Copies,
  ) {}

  // Lists the operands and adopts the files not followed yet; a followed file no longer at any
  // watched path was rotated away (or deleted): it is finished, then let go.
  scan(watchDirs: (dirs: string[]) => void): void {
    const { config, files, copies } = this
    const { store } = files
    const found = expand(config.operands, config.rules)
    this.dirs = found.dirs
    watchDirs(found.dirs)
    for (const { path, error } of found.errors)
      this.report(`dir:${path}`, `${path}: ${describeSystemError(error)} (skipped; other files continue)`)
    for (const path of found.missing) {
      if (config.follow) {
        if (this.initial) this.report(`missing:${path}`, `${path}: no such file (yet): waiting for it to appear`, false)
      } else this.report(`missing:${path}`, `${path}: no such file or directory`)
    }
    if (found.compressed.length) {
      const n = found.compressed.length
      this.report(
        'compressed',
        `skipping ${n} compressed file${n === 1 ? '' : 's'} (${found.compressed.slice(0, 3).join(', ')}${n > 3 ? ', ...' : ''}): rotated copies whose lines were read from the live file; --compressed reads them as they are`,
        false,
      )
    }
    for (const path of found.notFiles) {
      this.report(`notfile:${path}`, `${path}: not a regular file (tail reads files; pipe other input into tsf channel or tsf ship)`)
    }
    const seen = new Set<FileTail>()
    let adopted = false
    for (const path of found.files) {
      let st: Stats
      try {
        st = statSync(path)
      } catch {
        continue // gone meanwhile: the next listing sees what replaced it
      }
      if (!st.isFile()) continue
      const known = files.byInode.get(inodeKey(st))
      if (known) {
        seen.add(known)
        if (known.path !== path && !sameFileAt(known.path, st)) {
          // renamed onto another watched path (app.log -> app.log.1 with app.log* watched)
          if (files.byPath.get(known.path) === known) files.byPath.delete(known.path)
          known.path = path
          known.entry.lastPath = path
          store.markDirty()
        }
        files.byPath.set(path, known)
        if (known.rotated) {
          known.rotated = false
          files.wake.add(known)
        }
        continue
      }
      let fd: number
      try {
        fd = openSync(path, 'r')
      } catch (e) {
        this.report(`open:${path}`, `${path}: ${describeSystemError(e).replace(`${path}: `, '')} (skipped; other files continue)`)
        continue
      }
      this.reported.delete(`open:${path}`)
      const fst = fstatSync(fd)
      if (files.byInode.has(inodeKey(fst))) {
        closeSync(fd) // replaced between stat and open by a file we follow
        continue
      }
      let entry = this.findEntry(fd, fst)
      if (entry && (fst.size < entry.pos || !markMatches(fd, entry))) {
        warn(
          `${path}: truncated or rewritten since it was last read (its bytes before offset ${entry.pos} changed): reading it from the start as a new stream`,
        )
        files.retire(entry)
        entry = undefined
      }
      if (!entry) {
        const copy = copies.copyOf(fd, fst, this.initial)
        if (copy === 'wait') {
          closeSync(fd) // a copy of a file still being read, or still being copied: looked at again later
          continue
        }
        if (copy) {
          copies.adopted(copy)
          // copytruncate's copy (app.log.1) of a generation we read: its stream goes on from the
          // copy where our checkpoint stood, so what was written after it is read and nothing twice
          info(`${path}: a copy of ${copy.lastPath} (copytruncate?): continuing its stream from offset ${copy.pos}, nothing read twice`)
          copy.released = undefined
          copy.dev = fst.dev
          copy.ino = fst.ino
          copy.lastPath = path
          store.markDirty()
          entry = copy
        }
      }
      let head: Buffer | undefined
      if (entry) {
        if (entry.released) info(`${path}: known as ${entry.path}; continuing from offset ${entry.pos}`)
        entry.released = undefined
        entry.lastPath = path
        store.markDirty()
      } else {
        head = readHead(fd, fst)
        entry = files.newEntry(fd, fst, head, path, path, this.initial && config.fromEnd ? fst.size : 0)
        adopted = true
      }
      seen.add(files.add(fd, fst, entry, path, head))
    }
    if (adopted) store.save() // every new src is durable before its first event
    for (const t of files.tails) {
      if (seen.has(t) || t.rotated) continue
      t.rotated = true
      t.lastActivity = Date.now()
      if (files.byPath.get(t.path) === t) files.byPath.delete(t.path)
      const now = currentPath(t.fd)
      if (now) {
        // where it went (app.log.1): a restart looks there first
        t.entry.lastPath = now
        store.markDirty()
      }
      files.wake.add(t)
    }
  }

  private findEntry(fd: number, st: Stats): FileEntry | undefined {
    let best: FileEntry | undefined
    for (const e of this.files.store.entries) {
      if (e.dev !== st.dev || e.ino !== st.ino) continue
      if (!isSameFile(fd, st, e)) continue
      if (!best || (best.released && !e.released) || Boolean(best.released) === Boolean(e.released)) best = e
    }
    return best
  }

  private report(key: string, message: string, failure = true): void {
    if (this.reported.has(key)) return
    this.reported.add(key)
    if (failure) {
      logError(message)
      this.failures++
    } else info(message)
  }
}
