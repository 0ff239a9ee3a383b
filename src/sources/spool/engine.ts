import { closeSync, fstatSync, openSync, statSync, type Stats } from 'node:fs'
import { describeSystemError, TsfError } from '../../core/errors.js'
import { ExitCode } from '../../core/exit-codes.js'
import type { EventOutput } from '../../core/link/writer.js'
import { info } from '../../core/log.js'
import { mib, Progress, Rate } from '../../core/progress.js'
import type { Runtime } from '../../core/runtime.js'
import type { FileSourceOptions } from '../../core/stage-options.js'
import { aborted } from '../../core/shutdown.js'
import { sameInode } from '../file/identity.js'
import { reportUnacked, warnOversize } from '../source-end.js'
import { SpoolFileReader, type ReadResult, type SpoolReadConfig } from './file-reader.js'
import { describeChange, SpoolFiles, type Job } from './files.js'
import { finishFile, quarantine } from './finish.js'
import type { SpoolOrder } from './listing.js'
import { recoverJobs } from './recover.js'
import { Selector } from './select.js'
import { SpoolState } from './state.js'

export interface SpoolConfig extends FileSourceOptions {
  dir: string
  quarantineDir: string
  order: SpoolOrder
  settle: number
  ignore: RegExp
  recurse: boolean
  // rename finished files with this suffix, or delete them
  doneSuffix: string
  deleteDone: boolean
  once: boolean
  read: SpoolReadConfig
}

// bytes read (and written as one group of events) before back pressure is looked at; also the
// granularity of the checkpoint inside a file
const BUDGET = 256 * 1024
const READ_CHUNK = 256 * 1024

export const runSpool = async (config: SpoolConfig, rt: Runtime): Promise<number> => {
  let st: Stats
  try {
    st = statSync(config.dir)
  } catch (e) {
    throw new TsfError(`${config.dir}: cannot use it as the spool directory: ${describeSystemError(e).replace(`${config.dir}: `, '')}`)
  }
  if (!st.isDirectory()) throw new TsfError(`${config.dir}: not a directory`)
  const state = await SpoolState.open(config.stateDir, config.checkpointInterval)
  try {
    return await new SpoolEngine(config, rt, state).run()
  } finally {
    state.close()
  }
}

// Ingests the settled files of the directory one after the other (without waiting for one
// file's acks before reading the next), checkpoints each file's progress after acks, and marks a
// file done once every event of it is durable downstream. Which file comes next is select.ts's;
// the files resumed after a restart recover.ts's; how a file leaves the spool finish.ts's.
class SpoolEngine {
  private out!: EventOutput
  private readonly files: SpoolFiles
  private readonly selector: Selector
  private readonly buf = Buffer.allocUnsafe(READ_CHUNK)
  private wakeUp?: () => void
  private fatal?: unknown
  private readonly stopped: Promise<void>
  private bytesRead = 0

  constructor(
    private readonly config: SpoolConfig,
    private readonly rt: Runtime,
    private readonly state: SpoolState,
  ) {
    this.files = new SpoolFiles(config, state, rt.counters)
    this.selector = new Selector(this.files)
    state.onError = (e) => {
      this.fatal = e
      this.signal()
    }
    rt.stop.addEventListener('abort', () => this.signal(), { once: true })
    this.stopped = aborted(rt.stop)
    rt.counters.gauge('FileActiveCount', () => this.files.active.size)
  }

  async run(): Promise<number> {
    this.out = await this.rt.output({ window: this.config.window, maxLine: this.config.read.maxLine })
    const { files } = this
    const rate = new Rate()
    const progress = new Progress('tsf spool', () => {
      const left = files.active.size + (files.pendingOnce?.size ?? this.selector.waiting)
      return `${files.done} files done, ${left} left, ${mib(rate.perSecond(this.bytesRead))} MiB/s`
    })
    progress.start()
    try {
      for (const job of recoverJobs(files)) this.selector.resume(job)
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
      if (first || this.selector.empty) this.selector.scan(first)
      first = false
      while (!this.selector.empty && !this.stopping) {
        const next = this.selector.next()
        if (next) await this.ingest(next)
      }
      if (this.stopping) break
      if (this.config.once && this.files.pendingOnce!.size === 0) break
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => this.signal(), this.config.pollInterval)
        this.wakeUp = () => {
          clearTimeout(timer)
          resolve()
        }
      })
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
      this.files.forget(job)
      if ((e as NodeJS.ErrnoException).code === 'ENOENT')
        info(`${path}: removed before it was read; its stream ${entry.src} ends at event ${entry.seq}`)
      else quarantine(this.files, path, `cannot be read: ${describeSystemError(e).replace(`${path}: `, '')}`)
      return
    }
    try {
      if (!sameInode(fstatSync(fd), entry)) {
        // replaced between adoption and now: let go, the new file is a new candidate
        this.files.forget(job)
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
    finishFile(this.files, job)
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
    finishFile(this.files, job)
  }

  private async finish(): Promise<number> {
    const { files } = this
    const stoppedBySignal = this.rt.stop.aborted
    const unacked = await this.out.end(this.config.shutdownTimeout, this.rt.stop.aborted ? undefined : this.rt.stop)
    this.state.save()
    reportUnacked(this.rt, unacked, stoppedBySignal, `${this.config.shutdownTimeout} ms`, ': their files stay, a restart sends them again')
    if (this.config.once) {
      info(`${plural(files.done, 'file')} ingested${files.failures ? `, ${files.failures} could not be (see above)` : ''}`)
      if (files.failures) return ExitCode.failure
    }
    return ExitCode.ok
  }
}

const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`
