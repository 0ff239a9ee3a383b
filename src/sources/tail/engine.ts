import { fstatSync } from 'node:fs'
import { describeSystemError } from '../../core/errors.js'
import { ExitCode } from '../../core/exit-codes.js'
import type { EventOutput } from '../../core/link/writer.js'
import { error as logError, info } from '../../core/log.js'
import type { Runtime } from '../../core/runtime.js'
import type { FileSourceOptions } from '../../core/stage-options.js'
import { reportUnacked, warnOversize } from '../source-end.js'
import { CheckpointStore } from './checkpoint-store.js'
import { Copies } from './copies.js'
import type { FileTail, ReadConfig, ReadResult } from './file-tail.js'
import { TailFiles } from './files.js'
import { FINGERPRINT_BYTES, hashBytes, readHead } from '../file/identity.js'
import { lagRows, showProgress } from './lag.js'
import { expand, type PathRules } from './paths.js'
import { recoverFiles } from './recover.js'
import { Scanner } from './scan.js'
import { refuseIfCheckpointedElsewhere } from './state-elsewhere.js'
import { Watcher } from './watcher.js'

export interface TailConfig extends FileSourceOptions {
  operands: string[]
  follow: boolean
  // stateDir is the default one for these paths (no --state): refuse files checkpointed elsewhere
  defaultState?: boolean
  fromEnd: boolean
  rules: PathRules
  read: ReadConfig
  rotateWait: number
  inotify: boolean
}

// bytes read from one file before the others get their turn
const BUDGET = 256 * 1024
const READ_CHUNK = 64 * 1024

export const runTail = async (config: TailConfig, rt: Runtime): Promise<number> => {
  if (config.defaultState) refuseIfCheckpointedElsewhere(config.stateDir, expand(config.operands, config.rules).files)
  const store = await CheckpointStore.open(config.stateDir, config.checkpointInterval)
  try {
    return await new TailEngine(config, rt, store).run()
  } finally {
    store.close()
  }
}

// Follows the files: finds them (operands, globs, directories; by identity after a restart:
// scan.ts, recover.ts, copies.ts), reads them in turn, writes their events, and moves each file's
// checkpoint only when the downstream made its events durable.
class TailEngine {
  private readonly files: TailFiles
  private readonly tails: Set<FileTail>
  private readonly wake: Set<FileTail>
  private readonly copies: Copies
  private readonly scanner: Scanner
  private rescanDue = false
  private wakeUp?: () => void
  private watcher?: Watcher
  private out!: EventOutput
  // one turn's reads, one after the other: the events point into it until they are written
  private readonly buf = Buffer.allocUnsafe(BUDGET)
  // files given up on (read errors): exit 1 for a run without --follow
  private failures = 0
  private fatal?: unknown
  private ackedBytes = 0

  constructor(
    private readonly config: TailConfig,
    private readonly rt: Runtime,
    private readonly store: CheckpointStore,
  ) {
    this.files = new TailFiles(store, config.read)
    this.tails = this.files.tails
    this.wake = this.files.wake
    this.copies = new Copies(this.files, config.rotateWait)
    this.scanner = new Scanner(config, this.files, this.copies)
    store.onError = (e) => {
      this.fatal = e
      this.signal()
    }
    rt.stop.addEventListener('abort', () => this.signal(), { once: true })
    rt.counters.gauge('OpenFileCount', () => this.tails.size)
    // lag: bytes in the files past the acked checkpoint (read at each scrape, one fstat per file)
    rt.counters.gauge('LagBytes', () => lagRows(this.tails).reduce((sum, r) => sum + r.LagBytes, 0))
    rt.counters.table('files', 'file', () => lagRows(this.tails))
  }

  async run(): Promise<number> {
    this.out = await this.rt.output({ window: this.config.window, maxLine: this.config.read.maxLine })
    recoverFiles(this.files)
    this.scan()
    this.scanner.initial = false
    const progress = showProgress(this.tails, () => this.ackedBytes)
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
      this.watcher.setDirs(this.scanner.dirs)
      this.rescanDue = true
      // the readiness line: from here on every append, new file and rotation is seen. What was
      // rotated out of the watched names before it cannot be (see "Limits" in docs/tail.md), so
      // whatever starts writing and rotating right after starting tail must wait for this line.
      const files = this.tails.size
      const dirs = this.scanner.dirs.length
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

  private releaseTimer?: NodeJS.Timeout

  private scan(): void {
    this.scanner.scan((dirs) => this.watcher?.setDirs(dirs))
  }

  private onChanged(path: string): void {
    const t = this.files.byPath.get(path)
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
    if (t.oversize > before)
      warnOversize(this.rt, `oversize:${t.path}`, t.path, this.config.read, t.oversize - before, 'said once per file')
    return result
  }

  // Writes the groups, waiting for room after each: a pipe's write queue that grew by megabytes
  // would hold back the writer's "written" mark, hence every checkpoint, until it all drained.
  private async write(t: FileTail, groups: ReadResult[]): Promise<void> {
    for (const group of groups) {
      const n = group.heads.length
      if (n === 0) continue
      this.files.writing(group.entry)
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
    this.files.durable(entry)
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

  // The open file was truncated (copytruncate) or rewritten: what we hold of the old
  // generation goes out, and the file is read again from 0 under a new src.
  private async newGeneration(t: FileTail): Promise<void> {
    await this.write(t, t.flush(true)) // the old generation is over: nothing to end again
    this.files.retire(t.entry)
    this.copies.keepEndedHead(t.entry, t.firstBytes)
    const st = fstatSync(t.fd)
    const head = readHead(t.fd, st)
    const entry = this.files.newEntry(t.fd, st, head, t.entry.path, t.path, 0)
    this.store.save() // the new src is durable before its first event
    t.restart(entry, head)
    info(`${t.path}: truncated in place (copytruncate?): reading it again from the start as a new stream`)
    this.rt.counters.add('TruncatedFileCount')
  }

  private dropTail(t: FileTail, why: string): void {
    logError(`${why} (stopped reading it; other files continue)`)
    this.failures++
    this.files.forget(t)
    this.files.retire(t.entry)
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
      if (this.files.inflightOf(t.entry)) continue // its durable() call wakes us again
      this.files.forget(t)
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

  private async finish(): Promise<number> {
    const stoppedBySignal = this.rt.stop.aborted
    const unacked = await this.out.end(this.config.shutdownTimeout)
    this.store.save()
    // `| head` went away: quietly, what it did not take stays in the file for the next run
    const downstreamClosed = stoppedBySignal && !this.rt.bySignal
    if (!downstreamClosed)
      reportUnacked(
        this.rt,
        unacked,
        stoppedBySignal,
        `${this.config.shutdownTimeout} ms`,
        ': their checkpoints did not move, they will be read again on restart',
      )
    if (!this.config.follow && (this.failures || this.scanner.failures)) return ExitCode.failure
    return ExitCode.ok
  }
}
