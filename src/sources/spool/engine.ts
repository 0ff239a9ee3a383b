import { closeSync, existsSync, fstatSync, openSync, renameSync, statSync, unlinkSync, type Stats } from 'node:fs'
import { dirname } from 'node:path'
import { describeSystemError, TsfError } from '../../core/errors.js'
import { ExitCode } from '../../core/exit-codes.js'
import type { EventOutput } from '../../core/link/writer.js'
import { error as logError, info, warnOnce } from '../../core/log.js'
import { reportUnacked, warnOversize } from '../source-end.js'
import type { Runtime } from '../../core/runtime.js'
import { aborted } from '../../core/shutdown.js'
import { readAt } from '../../core/read-at.js'
import { hashBytes } from '../tail/identity.js'
import { SpoolFileReader, type ReadResult, type SpoolReadConfig } from './file-reader.js'
import { isSettled, listCandidates, orderCandidates, type Candidate, type ListRules, type SpoolOrder } from './listing.js'
import { mib, Progress, Rate } from '../../core/progress.js'
import { moveToQuarantine } from './quarantine.js'
import { SpoolState, type SpoolEntry } from './state.js'

export interface SpoolConfig {
  dir: string
  stateDir: string
  quarantineDir: string
  order: SpoolOrder
  settle: number
  ignore: RegExp
  recurse: boolean
  // rename finished files with this suffix, or delete them
  doneSuffix: string
  deleteDone: boolean
  once: boolean
  pollInterval: number
  read: SpoolReadConfig
  window: number
  checkpointInterval: number
  shutdownTimeout: number
}

// bytes read (and written as one group of events) before back pressure is looked at; also the
// granularity of the checkpoint inside a file
const BUDGET = 256 * 1024
const READ_CHUNK = 256 * 1024
// the first bytes of a file: a NUL among them means binary
const SNIFF_BYTES = 8192
// files adopted (and their srcs saved) together
const ADOPT_GROUP = 64
// the fingerprint that tells, after a restart, that the file at a path is still the one adopted
const HEAD_BYTES = 1024

// One file from adoption to its rename (or deletion, or quarantine).
interface Job {
  path: string
  entry: SpoolEntry
  // events written but not yet durable
  inflight: number
  readDone: boolean
  // why it goes to the quarantine instead of being marked done
  spoiled?: string
}

export const runSpool = async (config: SpoolConfig, rt: Runtime): Promise<number> => {
  let st: Stats
  try {
    st = statSync(config.dir)
  } catch (e) {
    throw new TsfError(`${config.dir}: cannot use it as the spool directory: ${describeSystemError(e).replace(`${config.dir}: `, '')}`)
  }
  if (!st.isDirectory()) throw new TsfError(`${config.dir}: not a directory`)
  const state = new SpoolState(config.stateDir, config.checkpointInterval)
  try {
    return await new SpoolEngine(config, rt, state).run()
  } finally {
    state.close()
  }
}

// Ingests the settled files of the directory one after the other (without waiting for one
// file's acks before reading the next), checkpoints each file's progress after acks, and marks a
// file done once every event of it is durable downstream.
class SpoolEngine {
  private out!: EventOutput
  // files to read next: resumed jobs first, then settled candidates (adopted just before reading,
  // so the state holds only the files in flight)
  private readonly queue: (Job | Candidate)[] = []
  private readonly active = new Map<string, Job>()
  // files that could not be ingested nor moved away: skipped while they stay as they are
  private readonly stuck = new Map<string, string>()
  // --once: the candidates present at the start that are not handled yet
  private pendingOnce?: Set<string>
  private readonly rules: ListRules
  private readonly buf = Buffer.allocUnsafe(READ_CHUNK)
  private wakeUp?: () => void
  private fatal?: unknown
  private readonly stopped: Promise<void>
  private failures = 0
  private filesDone = 0
  private bytesRead = 0

  constructor(
    private readonly config: SpoolConfig,
    private readonly rt: Runtime,
    private readonly state: SpoolState,
  ) {
    this.rules = {
      ignore: config.ignore,
      // skipped with --delete too: switching to it must not ingest the files renamed before
      doneSuffix: config.doneSuffix,
      recurse: config.recurse,
      skip: new Set([config.stateDir, config.quarantineDir]),
    }
    state.onError = (e) => {
      this.fatal = e
      this.signal()
    }
    rt.stop.addEventListener('abort', () => this.signal(), { once: true })
    this.stopped = aborted(rt.stop)
    rt.counters.gauge('FileActiveCount', () => this.active.size)
  }

  async run(): Promise<number> {
    this.out = await this.rt.output({ window: this.config.window, maxLine: this.config.read.maxLine })
    const rate = new Rate()
    const progress = new Progress('tsf spool', () => {
      const left = this.active.size + (this.pendingOnce?.size ?? this.queue.filter((q) => !('entry' in q)).length)
      return `${this.filesDone} files done, ${left} left, ${mib(rate.perSecond(this.bytesRead))} MiB/s`
    })
    progress.start()
    try {
      this.recover()
      await this.loop()
    } finally {
      progress.stop() // finish() says how many files were ingested
    }
    if (this.fatal) throw this.fatal
    return this.finish()
  }

  private signal(): void {
    const wake = this.wakeUp
    this.wakeUp = undefined
    wake?.()
  }

  private get stopping(): boolean {
    return this.rt.stop.aborted || this.fatal !== undefined
  }

  private async loop(): Promise<void> {
    let first = true
    while (!this.stopping) {
      if (first || this.queue.length === 0) this.scan(first)
      first = false
      while (this.queue.length && !this.stopping) {
        if (!('entry' in this.queue[0]!)) this.adoptGroup()
        // every candidate of the group may have been rejected (quarantined, gone, changed)
        const next = this.queue.shift()
        if (next && 'entry' in next) await this.ingest(next)
      }
      if (this.stopping) break
      if (this.config.once && this.pendingOnce!.size === 0) break
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => this.signal(), this.config.pollInterval)
        this.wakeUp = () => {
          clearTimeout(timer)
          resolve()
        }
      })
    }
  }

  // After a restart: each file adopted but not finished is resumed where its acks stood, unless
  // it changed meanwhile (quarantined) or is gone (finished, or removed by someone).
  private recover(): void {
    for (const entry of [...this.state.entries.values()]) {
      const { path } = entry
      let st: Stats
      try {
        st = statSync(path)
      } catch {
        this.state.delete(path)
        if (!this.config.deleteDone && sameInode(statOrUndefined(path + this.config.doneSuffix), entry)) continue // renamed just before a crash
        if (this.config.deleteDone && entry.pos === entry.size) continue // deleted just before a crash
        info(`${path}: gone while spool was down; its stream ${entry.src} ends at offset ${entry.pos}`)
        continue
      }
      if (!sameInode(st, entry)) {
        this.state.delete(path)
        info(
          `${path}: replaced by another file while spool was down; its stream ${entry.src} ends at offset ${entry.pos}, the new file is ingested on its own`,
        )
        continue
      }
      const changed = st.size !== entry.size || st.mtimeMs !== entry.mtimeMs ? describeChange(entry, st) : this.headChanged(entry)
      if (changed) {
        this.state.delete(path)
        this.quarantine(
          path,
          `changed after it was picked up (${changed}) while spool was down; ${entry.seq} events of it were already sent`,
          st,
        )
        continue
      }
      if (entry.pos > 0) info(`${path}: resuming at offset ${entry.pos} (event ${entry.seq + 1})`)
      this.enqueue({ path, entry, inflight: 0, readDone: false })
    }
    this.state.save()
  }

  private headChanged(entry: SpoolEntry): string | undefined {
    try {
      const fd = openSync(entry.path, 'r')
      try {
        return hashBytes(readAt(fd, 0, Math.min(HEAD_BYTES, entry.size))) === entry.headHash ? undefined : 'its first bytes differ'
      } finally {
        closeSync(fd)
      }
    } catch {
      return undefined // unreadable now: ingest() says so
    }
  }

  private enqueue(job: Job): void {
    this.active.set(job.path, job)
    this.queue.push(job)
  }

  // Lists the directory; settled files not known yet become jobs, in the configured order.
  private scan(first: boolean): void {
    const found = listCandidates(this.config.dir, this.rules, (path, e) =>
      warnOnce(`dir:${path}`, `${path}: ${describeSystemError(e).replace(`${path}: `, '')} (skipped; said once)`),
    )
    if (first && this.config.once) this.pendingOnce = new Set(found.map((c) => c.path).filter((p) => !this.active.has(p)))
    const pending = this.pendingOnce
    const now = Date.now()
    const ready: Candidate[] = []
    const present = new Set<string>()
    for (const c of found) {
      present.add(c.path)
      if (this.active.has(c.path)) continue
      if (pending && !pending.has(c.path)) continue // --once: files that came later wait for the next run
      const stuck = this.stuck.get(c.path)
      if (stuck !== undefined) {
        if (stuck === signature(c.st)) continue
        this.stuck.delete(c.path)
      }
      if (isSettled(c.st, this.config.settle, now)) ready.push(c)
    }
    if (pending) for (const p of pending) if (!present.has(p) || this.stuck.has(p)) pending.delete(p)
    // (--once: a candidate leaves pendingOnce when it is adopted or quarantined, so one that
    // changed again before adoption is looked at again)
    for (const c of orderCandidates(ready, this.config.order)) this.queue.push(c)
  }

  // Adopts the next candidates together, so that one save (two fsyncs) makes all their srcs
  // durable instead of one save per small file.
  private adoptGroup(): void {
    const jobs: Job[] = []
    while (jobs.length < ADOPT_GROUP && this.queue.length && !('entry' in this.queue[0]!)) {
      const job = this.adopt(this.queue.shift() as Candidate)
      if (job) jobs.push(job)
    }
    this.queue.unshift(...jobs)
  }

  // Looks at a settled file once before taking it: readable, not binary, its name not reused.
  private adopt(c: Candidate): Job | undefined {
    const { path } = c
    if (!this.config.deleteDone && existsSync(path + this.config.doneSuffix)) {
      this.quarantine(path, `name reused: ${path + this.config.doneSuffix} already exists (a file of that name was ingested before)`, c.st)
      return undefined
    }
    let fd: number
    try {
      fd = openSync(path, 'r')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined // gone since the listing: nothing to do
      this.quarantine(path, `cannot be read: ${describeSystemError(e).replace(`${path}: `, '')}`, c.st)
      return undefined
    }
    try {
      const st = fstatSync(fd)
      // changed since the listing: it is looked at again once it settled again
      if (!sameInode(st, c.st) || st.size !== c.st.size || st.mtimeMs !== c.st.mtimeMs) return undefined
      const sniff = readAt(fd, 0, Math.min(SNIFF_BYTES, st.size))
      const nul = sniff.indexOf(0)
      if (nul !== -1) {
        this.quarantine(path, `looks binary (a NUL byte at offset ${nul})`, st)
        return undefined
      }
      const entry: SpoolEntry = {
        path,
        dev: st.dev,
        ino: st.ino,
        size: st.size,
        mtimeMs: st.mtimeMs,
        headHash: hashBytes(sniff.subarray(0, HEAD_BYTES)),
        src: this.state.newSrc(),
        seq: 0,
        pos: 0,
      }
      this.state.set(entry)
      this.pendingOnce?.delete(path)
      const job: Job = { path, entry, inflight: 0, readDone: false }
      this.active.set(path, job)
      return job
    } catch (e) {
      this.quarantine(path, `cannot be read: ${describeSystemError(e).replace(`${path}: `, '')}`, c.st)
      return undefined
    } finally {
      closeSync(fd)
    }
  }

  // Reads one file to its end (or until stopped); marks it done once its events are durable.
  private async ingest(job: Job): Promise<void> {
    const { entry, path } = job
    // the src is durable before the first event (one save covers the group adopted together)
    if (!this.state.isSaved(entry)) this.state.save()
    let fd: number
    try {
      fd = openSync(path, 'r')
    } catch (e) {
      this.forget(job)
      if ((e as NodeJS.ErrnoException).code === 'ENOENT')
        info(`${path}: removed before it was read; its stream ${entry.src} ends at event ${entry.seq}`)
      else this.quarantine(path, `cannot be read: ${describeSystemError(e).replace(`${path}: `, '')}`)
      return
    }
    try {
      if (!sameInode(fstatSync(fd), entry)) {
        // replaced between adoption and now: let go, the new file is a new candidate
        this.active.delete(path)
        this.state.delete(path)
        return
      }
      const reader = new SpoolFileReader(fd, entry, this.config.read)
      for (;;) {
        const before = reader.readPos
        const oversize = reader.oversize
        const r = reader.read(this.buf, BUDGET)
        this.bytesRead += reader.readPos - before
        if (reader.oversize > oversize)
          warnOversize(this.rt, `oversize:${path}`, path, this.config.read, reader.oversize - oversize, 'said once per file')
        this.write(job, r)
        // a stalled downstream must not keep SIGTERM from ending the read
        await Promise.race([this.out.ready(), this.stopped])
        if (r.eof) break
        if (this.stopping) return // the acked part is checkpointed; a restart resumes there
      }
      const st = fstatSync(fd)
      if (st.size !== entry.size || st.mtimeMs !== entry.mtimeMs || reader.readPos !== entry.size) job.spoiled = describeChange(entry, st)
      else this.write(job, reader.finish())
    } catch (e) {
      job.spoiled = `a read failed: ${describeSystemError(e)}`
    } finally {
      closeSync(fd)
    }
    job.readDone = true
    this.settle(job)
  }

  private write(job: Job, r: ReadResult): void {
    const n = r.heads.length
    if (n === 0) return
    job.inflight++
    this.rt.counters.add('EventReceivedCount', n)
    const { pos, seq } = r // not r itself: the callback must not keep the heads alive
    this.out.write(r.heads, () => this.durable(job, pos, seq, n))
  }

  // The downstream made these events durable: the file's checkpoint moves.
  private durable(job: Job, pos: number, seq: number, n: number): void {
    this.rt.counters.add('EventAcceptedCount', n)
    job.entry.pos = pos
    job.entry.seq = seq
    job.inflight--
    this.state.markDirty()
    this.settle(job)
  }

  // Read to the end and every event durable: the file is renamed (or deleted), or quarantined
  // when it changed under us. Its entry goes once that is done.
  private settle(job: Job): void {
    if (!job.readDone || job.inflight > 0) return
    const { path, entry } = job
    const st = statOrUndefined(path)
    if (!st || !sameInode(st, entry)) {
      this.forget(job)
      info(
        `${path}: removed or replaced while it was being ingested; its stream ${entry.src} ends at event ${entry.seq} (a new file there is ingested on its own)`,
      )
      return
    }
    if (!job.spoiled && (st.size !== entry.size || st.mtimeMs !== entry.mtimeMs)) job.spoiled = describeChange(entry, st)
    if (job.spoiled) {
      this.forget(job)
      this.quarantine(
        path,
        `changed after it was picked up (${job.spoiled}); its first ${entry.seq} events were sent as stream ${entry.src}`,
        st,
      )
      return
    }
    try {
      if (this.config.deleteDone) unlinkSync(path)
      else renameSync(path, path + this.config.doneSuffix)
    } catch (e) {
      // the entry stays (at the file's end): a restart tries again without re-sending anything
      this.active.delete(path)
      this.stuck.set(path, signature(st))
      this.failures++
      logError(
        `${path}: ingested, but cannot be ${this.config.deleteDone ? 'deleted' : 'renamed'}: ${describeSystemError(e).replace(`${path}: `, '')}`,
      )
      return
    }
    this.state.touched(dirname(path))
    this.forget(job)
    this.filesDone++
    this.rt.counters.add('FileCompletedCount')
  }

  private forget(job: Job): void {
    this.active.delete(job.path)
    this.state.delete(job.path)
  }

  // A file that cannot be ingested goes to the quarantine with one line saying why; if even
  // that fails, it is skipped until it changes. The source goes on either way.
  private quarantine(path: string, why: string, st?: Stats): void {
    this.pendingOnce?.delete(path)
    this.failures++
    this.rt.counters.add('FileQuarantinedCount')
    try {
      const target = moveToQuarantine(path, this.config.dir, this.config.quarantineDir)
      this.state.touched(dirname(path))
      logError(`${path}: ${why}: moved to ${target}`)
    } catch (e) {
      const now = st ?? statOrUndefined(path)
      if (now) this.stuck.set(path, signature(now))
      logError(
        `${path}: ${why}; cannot move it to ${this.config.quarantineDir} either (${describeSystemError(e)}): skipped until it changes`,
      )
    }
  }

  private async finish(): Promise<number> {
    const stoppedBySignal = this.rt.stop.aborted
    const unacked = await this.out.end(this.config.shutdownTimeout, this.rt.stop.aborted ? undefined : this.rt.stop)
    this.state.save()
    reportUnacked(this.rt, unacked, stoppedBySignal, `${this.config.shutdownTimeout} ms`, ': their files stay, a restart sends them again')
    if (this.config.once) {
      info(`${plural(this.filesDone, 'file')} ingested${this.failures ? `, ${this.failures} could not be (see above)` : ''}`)
      if (this.failures) return ExitCode.failure
    }
    return ExitCode.ok
  }
}

const statOrUndefined = (path: string): Stats | undefined => {
  try {
    return statSync(path)
  } catch {
    return undefined
  }
}

const sameInode = (a: { dev: number; ino: number } | undefined, b: { dev: number; ino: number }): boolean =>
  a !== undefined && a.dev === b.dev && a.ino === b.ino

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`

const signature = (st: Stats): string => `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`

const describeChange = (entry: SpoolEntry, st: Stats): string =>
  st.size !== entry.size
    ? `size ${entry.size} -> ${st.size} bytes`
    : st.mtimeMs !== entry.mtimeMs
      ? 'rewritten: its modification time changed'
      : 'it grew while being read'
