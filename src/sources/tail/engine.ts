import { closeSync, fstatSync, openSync, readdirSync, readlinkSync, statSync, type Stats } from 'node:fs'
import { dirname, join } from 'node:path'
import { describeSystemError, TsfError } from '../../core/errors.js'
import { ExitCode } from '../../core/exit-codes.js'
import type { EventOutput } from '../../core/link/writer.js'
import { error as logError, info, warn, warnOnce } from '../../core/log.js'
import type { Runtime } from '../../core/runtime.js'
import { CheckpointStore, type FileEntry } from './checkpoint-store.js'
import { FileTail, type ReadConfig, type ReadResult } from './file-tail.js'
import { readAt } from '../../core/read-at.js'
import { FINGERPRINT_BYTES, hashBytes, identityOf, isSameFile, markAt, markMatches, readHead } from './identity.js'
import { expand, type PathRules } from './paths.js'
import { refuseIfCheckpointedElsewhere } from './state-elsewhere.js'
import { Watcher } from './watcher.js'
import { mib, Progress, Rate } from '../../core/progress.js'

export interface TailConfig {
  operands: string[]
  follow: boolean
  stateDir: string
  // stateDir is the default one for these paths (no --state): refuse files checkpointed elsewhere
  defaultState?: boolean
  fromEnd: boolean
  rules: PathRules
  read: ReadConfig
  pollInterval: number
  rotateWait: number
  window: number
  checkpointInterval: number
  shutdownTimeout: number
  inotify: boolean
}

// the progress line shows when tail is at least this far behind
const PROGRESS_MIN_LAG = 1024 * 1024
// bytes read from one file before the others get their turn
const BUDGET = 256 * 1024
const READ_CHUNK = 64 * 1024
// generations ended by a truncation whose first bytes are kept (see copyOf)
const ENDED_HEADS = 16

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

const inodeKey = (st: { dev: number; ino: number }): string => `${st.dev}:${st.ino}`

export const runTail = async (config: TailConfig, rt: Runtime): Promise<number> => {
  if (config.defaultState) refuseIfCheckpointedElsewhere(config.stateDir, expand(config.operands, config.rules).files)
  const store = CheckpointStore.open(config.stateDir, config.checkpointInterval)
  try {
    return await new TailEngine(config, rt, store).run()
  } finally {
    store.close()
  }
}

// Follows the files: finds them (operands, globs, directories; by identity after a restart),
// reads them in turn, writes their events, and moves each file's checkpoint only when the
// downstream made its events durable.
class TailEngine {
  private readonly tails = new Set<FileTail>()
  private readonly byInode = new Map<string, FileTail>()
  private readonly byPath = new Map<string, FileTail>()
  // events written but not yet durable, per file generation
  private readonly inflight = new Map<FileEntry, number>()
  // generations that are over (truncated, rotated away): released once their events are durable
  private readonly retiring = new Set<FileEntry>()
  private readonly wake = new Set<FileTail>()
  private rescanDue = false
  private wakeUp?: () => void
  private watcher?: Watcher
  private out!: EventOutput
  // one turn's reads, one after the other: the events point into it until they are written
  private readonly buf = Buffer.allocUnsafe(BUDGET)
  private readonly reported = new Set<string>()
  private failures = 0
  // the first bytes of the generations lately ended by a truncation, as read: their copies
  // (copytruncate) are told by them while still being written
  private readonly endedHeads = new Map<FileEntry, Buffer>()
  // files that may be copies still being written: their size, and since when it is the same
  private readonly shortSeen = new Map<string, { size: number; at: number }>()
  private fatal?: unknown
  private initial = true
  private ackedBytes = 0

  constructor(
    private readonly config: TailConfig,
    private readonly rt: Runtime,
    private readonly store: CheckpointStore,
  ) {
    store.onError = (e) => {
      this.fatal = e
      this.signal()
    }
    rt.stop.addEventListener('abort', () => this.signal(), { once: true })
    rt.counters.gauge('OpenFileCount', () => this.tails.size)
    // lag: bytes in the files past the acked checkpoint (read at each scrape, one fstat per file)
    rt.counters.gauge('LagBytes', () => this.lagRows().reduce((sum, r) => sum + r.LagBytes, 0))
    rt.counters.table('files', 'file', () => this.lagRows())
  }

  // On a terminal, a progress line while tail is more than a MiB behind (catching up after a start
  // or an outage downstream); the catch-up after the start ends with one summary line.
  private showProgress(): () => void {
    const rate = new Rate()
    const lagNow = (): number => this.lagRows().reduce((sum, r) => sum + r.LagBytes, 0)
    const progress = new Progress('tsf tail', () => {
      const rows = this.lagRows().filter((r) => r.LagBytes > 0)
      const lag = rows.reduce((sum, r) => sum + r.LagBytes, 0)
      const perSecond = rate.perSecond(this.ackedBytes)
      return lag >= PROGRESS_MIN_LAG
        ? `catching up: ${mib(lag)} MiB behind in ${rows.length} file${rows.length === 1 ? '' : 's'}, ${mib(perSecond)} MiB/s`
        : undefined
    })
    progress.start()
    let caughtUp = false
    const summary = (): void => {
      if (caughtUp) return
      caughtUp = true
      if (this.ackedBytes > 0 && progress.worthSaying(this.ackedBytes))
        info(
          `caught up: ${mib(this.ackedBytes)} MiB from ${this.tails.size} file${this.tails.size === 1 ? '' : 's'} in ${progress.elapsed.toFixed(1)} s`,
        )
    }
    const check = setInterval(() => {
      if (lagNow() === 0) summary()
    }, 1000)
    check.unref()
    return () => {
      clearInterval(check)
      progress.stop()
      summary()
    }
  }

  lagRows(): { file: string; SizeBytes: number; AckedBytes: number; LagBytes: number }[] {
    const rows = []
    for (const t of this.tails) {
      let size = t.entry.pos
      try {
        if (!t.closed) size = fstatSync(t.fd).size
      } catch {
        // closed meanwhile: nothing left to read from it
      }
      rows.push({ file: t.path, SizeBytes: size, AckedBytes: t.entry.pos, LagBytes: Math.max(0, size - t.entry.pos) })
    }
    return rows
  }

  async run(): Promise<number> {
    this.out = await this.rt.output({ window: this.config.window })
    this.recover()
    this.scan()
    this.initial = false
    const progress = this.showProgress()
    if (this.config.follow) {
      this.watcher = new Watcher(
        {
          changed: (path) => this.onChanged(path),
          renamed: () => {
            this.rescanDue = true
            this.signal()
          },
          poll: () => {
            this.rescanDue = true
            for (const t of this.tails) this.wake.add(t)
            this.signal()
          },
        },
        this.config.pollInterval,
        this.config.inotify,
      )
      // the first listing ran before the watches: list again once they are in place
      this.watcher.setDirs(this.lastDirs)
      this.rescanDue = true
      // the readiness line: from here on every append, new file and rotation is seen. What was
      // rotated out of the watched names before it cannot be (see "Limits" in docs/tail.md), so
      // whatever starts writing and rotating right after starting tail must wait for this line.
      const files = this.tails.size
      const dirs = this.lastDirs.length
      info(
        `following ${files} file${files === 1 ? '' : 's'}; watching ${dirs} director${dirs === 1 ? 'y' : 'ies'} for new and rotated files (${this.config.inotify ? 'inotify, and ' : ''}polling every ${this.config.pollInterval} ms)`,
      )
    }
    try {
      await this.loop()
    } finally {
      this.watcher?.close()
      progress()
    }
    if (this.fatal) throw this.fatal
    return this.finish()
  }

  private lastDirs: string[] = []
  private releaseTimer?: NodeJS.Timeout

  private onChanged(path: string): void {
    const t = this.byPath.get(path)
    if (t) this.wake.add(t)
    else {
      // perhaps a rotated file still being written under its new name
      for (const r of this.tails) if (r.rotated) this.wake.add(r)
    }
    this.signal()
  }

  private signal(): void {
    const wake = this.wakeUp
    this.wakeUp = undefined
    wake?.()
  }

  private async loop(): Promise<void> {
    const { follow } = this.config
    while (!this.rt.stop.aborted && !this.fatal) {
      if (this.rescanDue) {
        this.rescanDue = false
        this.scan()
      }
      // rotated files first: a rotated file is finished before its successor is read
      const turn = [...this.wake].sort((a, b) => Number(b.rotated) - Number(a.rotated))
      this.wake.clear()
      for (const t of turn) {
        if (this.rt.stop.aborted || this.fatal) break
        await this.pump(t)
      }
      this.releaseDrained()
      if (!follow) {
        if (this.wake.size === 0) break
        continue
      }
      if (this.wake.size === 0 && !this.rescanDue && !this.rt.stop.aborted && !this.fatal) {
        await new Promise<void>((resolve) => (this.wakeUp = resolve))
      }
    }
  }

  // Reads what one file has for us now.
  private async pump(t: FileTail): Promise<void> {
    if (t.closed) return
    const { follow } = this.config
    do {
      let check
      try {
        check = t.check()
      } catch (e) {
        this.dropTail(t, `${t.path}: ${describeSystemError(e)}`)
        return
      }
      if (check === 'truncated') await this.newGeneration(t)
      if (check === 'same' && t.readPos === t.size) t.atEof = true
      else await this.write(t, this.read(t))
      if (t.closed) return
    } while (t.rotated && !t.atEof && !this.rt.stop.aborted)
    if (!t.atEof) {
      this.wake.add(t)
      return
    }
    if (!follow) {
      await this.write(t, this.flushHeld(t, true))
      return
    }
    const since = t.multilineSince
    if (since && this.config.read.multiline) {
      const left = since + this.config.read.multiline.timeout - Date.now()
      if (left <= 0) await this.write(t, this.flushHeld(t, false))
      else
        setTimeout(() => {
          this.wake.add(t)
          this.signal()
        }, left + 1).unref()
    }
  }

  private read(t: FileTail): ReadResult[] {
    const before = t.oversize
    const result = t.read(this.buf, BUDGET, READ_CHUNK)
    if (t.oversize > before) {
      warnOnce(
        `oversize:${t.path}`,
        `${t.path}: a line longer than ${this.config.read.maxLine} bytes was ${this.config.read.truncate ? 'truncated (the rest dropped, flagged "truncated")' : 'cut into pieces marked "cont"'} (counted, said once per file)`,
      )
      this.rt.counters.add('OversizeLineCount', t.oversize - before)
    }
    return result
  }

  // Writes the groups, waiting for room after each: a pipe's write queue that grew by megabytes
  // would hold back the writer's "written" mark, hence every checkpoint, until it all drained.
  private async write(t: FileTail, groups: ReadResult[]): Promise<void> {
    for (const group of groups) {
      const n = group.heads.length
      if (n === 0) continue
      this.inflight.set(group.entry, (this.inflight.get(group.entry) ?? 0) + 1)
      this.rt.counters.add('EventReceivedCount', n)
      this.out.write(group.heads, () => this.durable(t, group))
      await this.out.ready()
    }
  }

  // The downstream made these events durable: the checkpoint may move, and the identity with it,
  // from the bytes that were read (the file may hold others by now: see identity.ts).
  private durable(t: FileTail, { entry, pos, seq, heads, mark, head }: ReadResult): void {
    this.rt.counters.add('EventAcceptedCount', heads.length)
    if (pos > entry.pos) {
      this.ackedBytes += pos - entry.pos
      if (mark) {
        entry.markLen = mark.markLen
        entry.markHash = mark.markHash
        delete entry.markEnd
      } else entry.markEnd ??= entry.pos // the mark stays where it was taken
      entry.pos = pos
      entry.seq = seq
      if (entry.cuts) {
        const cuts = entry.cuts.filter((c) => c > pos)
        entry.cuts = cuts.length ? cuts : undefined
      }
      const headLen = Math.min(FINGERPRINT_BYTES, pos)
      if (entry.headLen < headLen && head.length >= headLen) {
        entry.headLen = headLen
        entry.headHash = hashBytes(head.subarray(0, headLen))
      }
    }
    const left = (this.inflight.get(entry) ?? 1) - 1
    if (left > 0) this.inflight.set(entry, left)
    else {
      this.inflight.delete(entry)
      if (this.retiring.delete(entry)) entry.released = Date.now()
    }
    this.store.markDirty()
    if (t.rotated) this.signal()
  }

  // Emits what a file holds (see FileTail.flush); where that ended an event is saved before the
  // event is written, so that a restart ends it in the same place.
  private flushHeld(t: FileTail, partial: boolean): ReadResult[] {
    const groups = t.flush(partial)
    if (t.cut !== undefined) {
      t.entry.cuts = [...(t.entry.cuts ?? []), t.cut]
      this.store.markDirty()
      this.store.save()
    }
    return groups
  }

  // A generation is over: it is released (never looked for again) once its events are durable.
  private retire(entry: FileEntry): void {
    if (this.inflight.get(entry)) this.retiring.add(entry)
    else entry.released = Date.now()
    this.store.markDirty()
  }

  // The open file was truncated (copytruncate) or rewritten: what we hold of the old
  // generation goes out, and the file is read again from 0 under a new src.
  private async newGeneration(t: FileTail): Promise<void> {
    await this.write(t, t.flush(true)) // the old generation is over: nothing to end again
    this.retire(t.entry)
    this.keepEndedHead(t.entry, t.firstBytes)
    const st = fstatSync(t.fd)
    const head = readHead(t.fd, st)
    const entry = this.newEntry(t.fd, st, head, t.entry.path, t.path, 0)
    this.store.save() // the new src is durable before its first event
    t.restart(entry, head)
    info(`${t.path}: truncated in place (copytruncate?): reading it again from the start as a new stream`)
    this.rt.counters.add('TruncatedFileCount')
  }

  // A generation adopted now: its fingerprint is of `head`, the first bytes it holds now, which
  // its reader then checks against what it reads (see FileTail.keepHead).
  private keepEndedHead(entry: FileEntry, head: Buffer): void {
    if (head.length === 0) return
    this.endedHeads.set(entry, head)
    // a copy is made before the truncation: only the last few can still be being written
    for (const old of this.endedHeads.keys()) {
      if (this.endedHeads.size <= ENDED_HEADS) break
      this.endedHeads.delete(old)
    }
    if (this.shortSeen.size > ENDED_HEADS * 4) this.shortSeen.clear()
  }

  private newEntry(fd: number, st: Stats, head: Buffer, path: string, lastPath: string, pos: number): FileEntry {
    const entry: FileEntry = { ...identityOf(st, head), ...markAt(fd, pos), src: this.store.newSrc(), seq: 0, pos, path, lastPath }
    this.store.add(entry)
    return entry
  }

  private addTail(fd: number, st: Stats, entry: FileEntry, path: string, head?: Buffer): FileTail {
    const t = new FileTail(fd, entry, path, this.config.read, head)
    t.size = entry.pos
    this.tails.add(t)
    this.byInode.set(inodeKey(st), t)
    this.byPath.set(path, t)
    this.wake.add(t)
    return t
  }

  private dropTail(t: FileTail, why: string): void {
    logError(`${why} (stopped reading it; other files continue)`)
    this.failures++
    this.forget(t)
    this.retire(t.entry)
  }

  private forget(t: FileTail): void {
    t.close()
    this.tails.delete(t)
    this.wake.delete(t)
    for (const [k, v] of this.byInode) if (v === t) this.byInode.delete(k)
    if (this.byPath.get(t.path) === t) this.byPath.delete(t.path)
  }

  // Rotated or deleted files, read to their end and quiet for --rotate-wait, with every event
  // durable, are let go (their descriptor closed, so no disk is held).
  private releaseDrained(): void {
    const now = Date.now()
    for (const t of this.tails) {
      if (!t.rotated || !t.atEof || now - t.lastActivity < this.config.rotateWait) continue
      let check
      try {
        check = t.check()
      } catch {
        check = 'same'
      }
      if (check !== 'same') {
        this.wake.add(t)
        continue
      }
      if (t.holding) void this.write(t, this.flushHeld(t, true))
      if (this.inflight.get(t.entry)) continue // its durable() call wakes us again
      this.forget(t)
      t.entry.released = now
      this.store.markDirty()
      info(`${t.path}: ${t.nlink === 0 ? 'deleted' : 'rotated away'}; read to its end and let go`)
    }
    if (this.config.follow) {
      // look again later for the ones still waiting out --rotate-wait
      const waiting = [...this.tails].some((t) => t.rotated && t.atEof)
      if (waiting && !this.releaseTimer) {
        this.releaseTimer = setTimeout(
          () => {
            this.releaseTimer = undefined
            this.signal()
          },
          Math.min(this.config.rotateWait, this.config.pollInterval),
        )
        this.releaseTimer.unref()
      }
    }
  }

  private report(key: string, message: string, failure = true): void {
    if (this.reported.has(key)) return
    this.reported.add(key)
    if (failure) {
      logError(message)
      this.failures++
    } else info(message)
  }

  // After a restart: every generation not yet finished is looked for by its identity, at its
  // last path and then among its siblings (app.log.1, app.log-20261121, ...), and finished.
  private recover(): void {
    const listings = new Map<string, Map<string, string[]>>()
    const siblings = (dir: string): Map<string, string[]> => {
      let byKey = listings.get(dir)
      if (byKey) return byKey
      byKey = new Map()
      listings.set(dir, byKey)
      let names: string[] = []
      try {
        names = readdirSync(dir)
      } catch {
        // the directory is gone
      }
      for (const name of names) {
        try {
          const st = statSync(join(dir, name))
          if (!st.isFile()) continue
          const key = inodeKey(st)
          byKey.set(key, [...(byKey.get(key) ?? []), join(dir, name)])
        } catch {
          // went away meanwhile
        }
      }
      return byKey
    }
    // newest first: after a copytruncate the current generation claims the inode, not the old one
    for (const entry of [...this.store.entries].reverse()) {
      if (entry.released) continue
      const candidates = [entry.lastPath, ...(siblings(dirname(entry.lastPath)).get(inodeKey(entry)) ?? [])]
      let found: { fd: number; st: Stats; path: string } | undefined
      for (const path of new Set(candidates)) {
        let fd: number | undefined
        try {
          fd = openSync(path, 'r')
          const st = fstatSync(fd)
          if (st.isFile() && isSameFile(fd, st, entry) && !this.byInode.has(inodeKey(st))) {
            found = { fd, st, path }
            break
          }
        } catch {
          // not readable or gone: try the next
        }
        if (fd !== undefined) closeSync(fd)
      }
      if (!found) {
        entry.released = Date.now()
        this.store.markDirty()
        info(`${entry.lastPath}: no longer found (deleted while tail was down?); its stream ${entry.src} ends at offset ${entry.pos}`)
        continue
      }
      const { fd, st, path } = found
      let current = entry
      let head: Buffer | undefined
      if (st.size < entry.pos || !markMatches(fd, entry)) {
        warn(
          `${path}: truncated or rewritten while tail was down (its bytes before offset ${entry.pos} changed): reading it from the start as a new stream`,
        )
        entry.released = Date.now()
        head = readHead(fd, st)
        current = this.newEntry(fd, st, head, entry.path, path, 0)
      } else if (path !== entry.lastPath) {
        entry.lastPath = path
        info(`${path}: found ${entry.path} here (rotated while tail was down); finishing it from offset ${entry.pos}`)
      }
      this.addTail(fd, st, current, path, head)
    }
    this.store.save()
  }

  private findEntry(fd: number, st: Stats): FileEntry | undefined {
    let best: FileEntry | undefined
    for (const e of this.store.entries) {
      if (e.dev !== st.dev || e.ino !== st.ino) continue
      if (!isSameFile(fd, st, e)) continue
      if (!best || (best.released && !e.released) || Boolean(best.released) === Boolean(e.released)) best = e
    }
    return best
  }

  // Is this file, new to us by its inode, a copy of a generation we know (same first bytes, and
  // the bytes before that generation's checkpoint the same)? The released generation it copies,
  // or 'wait' when that generation is still being read (a copy of a live file: its lines come
  // through the original), or when it cannot be told yet: the file is shorter than what we know
  // of a generation it starts like (a copy still being written; looked at again until its size
  // stays the same for --rotate-wait), or a generation it could copy has not been read yet.
  // The first bytes are compared with those tail read (in memory for the files it reads and the
  // generations lately truncated), else with the fingerprint.
  private copyOf(fd: number, st: Stats): FileEntry | 'wait' | undefined {
    const readers = new Map<FileEntry, FileTail>()
    for (const t of this.tails) readers.set(t.entry, t)
    const first = readAt(fd, 0, Math.min(FINGERPRINT_BYTES, st.size))
    const heads = new Map<number, string>()
    let best: FileEntry | undefined
    for (const e of this.store.entries) {
      const reader = readers.get(e)
      const known = reader?.firstBytes.length ? reader.firstBytes : this.endedHeads.get(e)
      if (known) {
        const n = Math.min(first.length, known.length)
        if (!first.subarray(0, n).equals(known.subarray(0, n))) continue // starts otherwise
        if (first.length < known.length || st.size < e.pos) {
          if (this.stillGrowing(st)) return 'wait'
          continue
        }
      } else if (e.headLen === 0) {
        // adopted empty, nothing read yet: its reader decides once it has read what its file holds
        if (reader && !reader.closed && fstatSync(reader.fd).size > 0) return 'wait'
        continue
      } else {
        if (st.size < e.headLen) continue
        let head = heads.get(e.headLen)
        if (head === undefined) heads.set(e.headLen, (head = hashBytes(first.subarray(0, e.headLen))))
        if (head !== e.headHash) continue
        if (st.size < e.pos) return 'wait'
      }
      if (!markMatches(fd, e)) continue
      if (!e.released || this.retiring.has(e)) return 'wait'
      if (!best || e.released > best.released!) best = e
    }
    this.shortSeen.delete(inodeKey(st))
    return best
  }

  // A file shorter than a generation it starts like: still being copied while its size changes,
  // for at most --rotate-wait after it last did.
  private stillGrowing(st: Stats): boolean {
    if (this.initial) return false // what is there at the start is taken as it is
    const key = inodeKey(st)
    const now = Date.now()
    const seen = this.shortSeen.get(key)
    if (!seen || seen.size !== st.size) {
      this.shortSeen.set(key, { size: st.size, at: now })
      return true
    }
    return now - seen.at < this.config.rotateWait
  }

  // Lists the operands and adopts the files not followed yet; a followed file no longer at any
  // watched path was rotated away (or deleted): it is finished, then let go.
  private scan(): void {
    const { config } = this
    const found = expand(config.operands, config.rules)
    this.lastDirs = found.dirs
    this.watcher?.setDirs(found.dirs)
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
      const known = this.byInode.get(inodeKey(st))
      if (known) {
        seen.add(known)
        if (known.path !== path && !sameFileAt(known.path, st)) {
          // renamed onto another watched path (app.log -> app.log.1 with app.log* watched)
          if (this.byPath.get(known.path) === known) this.byPath.delete(known.path)
          known.path = path
          known.entry.lastPath = path
          this.store.markDirty()
        }
        this.byPath.set(path, known)
        if (known.rotated) {
          known.rotated = false
          this.wake.add(known)
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
      if (this.byInode.has(inodeKey(fst))) {
        closeSync(fd) // replaced between stat and open by a file we follow
        continue
      }
      let entry = this.findEntry(fd, fst)
      if (entry && (fst.size < entry.pos || !markMatches(fd, entry))) {
        warn(
          `${path}: truncated or rewritten since it was last read (its bytes before offset ${entry.pos} changed): reading it from the start as a new stream`,
        )
        this.retire(entry)
        entry = undefined
      }
      if (!entry) {
        const copy = this.copyOf(fd, fst)
        if (copy === 'wait') {
          closeSync(fd) // a copy of a file still being read, or still being copied: looked at again later
          continue
        }
        if (copy) {
          this.endedHeads.delete(copy)
          // copytruncate's copy (app.log.1) of a generation we read: its stream goes on from the
          // copy where our checkpoint stood, so what was written after it is read and nothing twice
          info(`${path}: a copy of ${copy.lastPath} (copytruncate?): continuing its stream from offset ${copy.pos}, nothing read twice`)
          copy.released = undefined
          copy.dev = fst.dev
          copy.ino = fst.ino
          copy.lastPath = path
          this.store.markDirty()
          entry = copy
        }
      }
      let head: Buffer | undefined
      if (entry) {
        if (entry.released) info(`${path}: known as ${entry.path}; continuing from offset ${entry.pos}`)
        entry.released = undefined
        entry.lastPath = path
        this.store.markDirty()
      } else {
        head = readHead(fd, fst)
        entry = this.newEntry(fd, fst, head, path, path, this.initial && config.fromEnd ? fst.size : 0)
        adopted = true
      }
      seen.add(this.addTail(fd, fst, entry, path, head))
    }
    if (adopted) this.store.save() // every new src is durable before its first event
    for (const t of this.tails) {
      if (seen.has(t) || t.rotated) continue
      t.rotated = true
      t.lastActivity = Date.now()
      if (this.byPath.get(t.path) === t) this.byPath.delete(t.path)
      const now = currentPath(t.fd)
      if (now) {
        // where it went (app.log.1): a restart looks there first
        t.entry.lastPath = now
        this.store.markDirty()
      }
      this.wake.add(t)
    }
  }

  private async finish(): Promise<number> {
    const stoppedBySignal = this.rt.stop.aborted
    const unacked = await this.out.end(this.config.shutdownTimeout)
    this.store.save()
    // `| head` went away: quietly, what it did not take stays in the file for the next run
    const downstreamClosed = stoppedBySignal && !this.rt.bySignal
    if (unacked && !downstreamClosed) {
      warn(
        `${unacked} events were not acked by the downstream within ${this.config.shutdownTimeout} ms: their checkpoints did not move, they will be read again on restart`,
      )
      if (!stoppedBySignal) throw new TsfError(`${unacked} events left unacked`)
    }
    if (!this.config.follow && this.failures) return ExitCode.failure
    return ExitCode.ok
  }
}
