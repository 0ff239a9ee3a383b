import { Backoff } from '../../core/backoff.js'
import { describeSystemError } from '../../core/errors.js'
import { ExitCode } from '../../core/exit-codes.js'
import type { EventInput } from '../../core/link/reader.js'
import { info, warn } from '../../core/log.js'
import type { Counters } from '../../core/metrics.js'
import { pause } from '../../core/wait.js'
import { RollFiles } from './files.js'
import type { RollFormat } from './format.js'
import type { Layout } from './layout.js'
import { Staged } from './staged.js'
import { recover } from './recover.js'
import { Stager } from './stage.js'
import { RollState } from './state.js'
import type { RollStorage } from './storage.js'

// The roll engine. Input batches are staged in memory (parsed, deduplicated by (src, seq),
// formatted, grouped by bucket); a commit writes everything staged to the buckets' in-progress
// files, makes it durable, then appends one commit record (file lengths + seq ranges) to the state
// log, and only then acks the batches upstream. While a commit runs, the next batches are staged:
// one commit covers them all (group commit). While input flows, a commit also waits until its group
// holds groupBytes or its first batch is groupWait ms old: a trickle of small batches would
// otherwise pay a write and two fdatasyncs each (roll's own added latency: at most groupWait plus
// the commit). Rolls happen between commits, when every byte of a
// file is committed, so a final file never holds anything that was not acked... or anything twice.
// Its parts: staging (stage.ts), the files in progress and their rolls (files.ts); this file runs
// the input, the one queue of changes, group commit and its retries.

export interface RollerOptions {
  storage: RollStorage
  layout: Layout
  format: RollFormat
  gzip: boolean
  interval: number // 0: off
  size: number // 0: off
  count: number // 0: off
  idle: number // 0: off
  maxOpen: number
  horizon: number
  useLocalTime: boolean
  // most staged bytes before reading waits for the commit in flight
  maxStaged?: number
  // a group commits once it holds this many input bytes or its first batch is this old
  groupBytes?: number
  groupWait?: number // ms
}

const GROUP_BYTES = 1024 * 1024
const GROUP_WAIT = 4

// the commit retry's back-off, in ms (no jitter: one writer per state directory)
const RETRY_MIN = 500
const RETRY_MAX = 30_000

export class Roller {
  private readonly state: RollState
  private readonly stager: Stager
  private readonly files: RollFiles
  private staged = new Staged()
  private queue: Promise<void> = Promise.resolve()
  private commitQueued = false
  // set while a group waits to be due (group commit)
  private groupTimer?: NodeJS.Timeout
  private maintainQueued = false
  private fatal?: unknown
  private failing?: string // the error that keeps a commit from succeeding, while it lasts
  private giveUpAt = Infinity
  // the group a commit is writing: its seqs count as seen for what is staged meanwhile
  private committing?: Staged
  private stop?: AbortSignal
  private input?: EventInput
  // resolves the reader's wait once a commit takes the staged group (see run)
  private taken?: () => void

  constructor(
    private readonly options: RollerOptions,
    private readonly counters: Counters,
  ) {
    this.state = new RollState(options.storage, options.horizon)
    this.stager = new Stager(options, this.state, counters)
    this.files = new RollFiles(options, this.state, counters)
    counters.gauge('OpenFileCount', () => this.files.open.size)
  }

  async start(): Promise<void> {
    await this.options.storage.lock()
    try {
      await this.state.load()
      await recover(this.options.storage, this.state)
    } catch (error) {
      await this.state.close().catch(() => undefined)
      await this.options.storage.unlock().catch(() => undefined)
      throw error
    }
  }

  // Reads every batch until the input ends (EOF, a signal, upstream loss).
  async run(input: EventInput, stop: AbortSignal, shutdownTimeout: number): Promise<number> {
    this.input = input
    this.stop = stop
    const giveUpSoon = (): void => {
      this.giveUpAt = Math.min(this.giveUpAt, Date.now() + shutdownTimeout)
    }
    stop.addEventListener('abort', giveUpSoon, { once: true })
    // the writer upstream died: it re-sends what we did not ack after the pipeline restarts, so
    // a failing storage is retried for the shutdown timeout only, not forever
    input.once('upstream-lost', giveUpSoon)
    const tick =
      this.options.interval || this.options.idle
        ? setInterval(() => this.schedule('maintain'), Math.min(1000, this.options.interval || 1000, this.options.idle || 1000))
        : undefined
    tick?.unref()
    const onHup = (): void => {
      info('SIGHUP: closing and reopening files')
      this.enqueue(() => this.files.finaliseAll('SIGHUP'))
    }
    process.on('SIGHUP', onHup)
    const maxStaged = this.options.maxStaged ?? 8 * 1024 * 1024
    try {
      for await (const batch of input.batches()) {
        if (this.fatal) throw this.fatal
        this.stager.stage(this.staged, batch, this.committing)
        this.commitWhenDue()
        // Staged enough: wait until a commit takes the group, not for every queued commit to
        // end, so that the next group stages while one commit is in flight (an HDFS APPEND
        // waits ~0.5 s for the DataNode's close). The queue settling covers a fatal error or a
        // group given back on giving up.
        if (this.staged.bytes >= maxStaged) {
          this.schedule('commit')
          await Promise.race([new Promise<void>((resolve) => (this.taken = resolve)), this.queue])
          this.taken = undefined
        }
      }
      if (tick) clearInterval(tick)
      process.off('SIGHUP', onHup)
      this.clearGroupTimer()
      this.schedule('commit')
      this.enqueue(() => this.files.finaliseAll())
      await this.queue
      if (this.fatal) throw this.fatal
      const unwritten = this.staged.events
      if (unwritten) {
        warn(
          `${unwritten} events were not written (${this.failing ?? 'stopped'}); they stay unacked with the upstream, which sends them again`,
        )
        // after a signal or the upstream's death that is expected (the runtime makes the latter 3)
        return stop.aborted || input.upstreamLost ? ExitCode.ok : ExitCode.failure
      }
      await this.state.compact().catch((error) => warn(`could not compact the state: ${describeSystemError(error)}`))
      return ExitCode.ok
    } finally {
      if (tick) clearInterval(tick)
      this.clearGroupTimer()
      process.off('SIGHUP', onHup)
      await this.state.close().catch(() => undefined)
      await this.files.closeAll()
      await this.options.storage.unlock()
    }
  }

  // Group commit: the staged group commits now if it is big or old enough, else when it will be.
  private commitWhenDue(): void {
    if (this.commitQueued) return
    const staged = this.staged
    const wait = this.options.groupWait ?? GROUP_WAIT
    const age = Date.now() - staged.since
    if (staged.bytes >= (this.options.groupBytes ?? GROUP_BYTES) || age >= wait) {
      this.clearGroupTimer()
      this.schedule('commit')
    } else if (!this.groupTimer) {
      this.groupTimer = setTimeout(() => {
        this.groupTimer = undefined
        this.schedule('commit')
      }, wait - age)
    }
  }

  private clearGroupTimer(): void {
    if (this.groupTimer) clearTimeout(this.groupTimer)
    this.groupTimer = undefined
  }

  private schedule(what: 'commit' | 'maintain'): void {
    if (what === 'commit') {
      if (this.commitQueued) return
      this.commitQueued = true
      this.enqueue(async () => {
        this.commitQueued = false
        await this.commitStaged()
        await this.files.maintain()
      })
    } else {
      if (this.maintainQueued || this.commitQueued) return
      this.maintainQueued = true
      this.enqueue(async () => {
        this.maintainQueued = false
        await this.files.maintain()
      })
    }
  }

  // Every change to files and state runs on this one queue, in order.
  private enqueue(work: () => Promise<void>): void {
    this.queue = this.queue.then(async () => {
      if (this.fatal) return
      try {
        await work()
      } catch (error) {
        this.fatal = error
      }
    })
  }

  // Commits what is staged, retrying (with back-off, without acking) while storage fails: a full
  // disk, a lost mount, HDFS down. Gives up only when stopping and the shutdown timeout passed.
  private async commitStaged(): Promise<void> {
    const staged = this.staged
    if (staged.batches.length === 0) return
    // this group commits now: a timer set for it would only commit the next one early
    this.clearGroupTimer()
    this.staged = new Staged()
    this.committing = staged
    this.taken?.()
    try {
      await this.commitWithRetry(staged)
      // committed (or, when giving up, moved back into this.staged: then its chunks live on)
      if (this.staged !== staged) staged.release()
    } finally {
      this.committing = undefined
    }
  }

  private async commit(staged: Staged): Promise<void> {
    await this.files.commit(staged)
    this.counters.add('EventDrainSuccessCount', staged.events)
    for (const batch of staged.batches) this.input?.done(batch)
  }

  private async commitWithRetry(staged: Staged): Promise<void> {
    const backoff = new Backoff({ initial: RETRY_MIN, max: RETRY_MAX })
    let since = 0
    for (;;) {
      try {
        await this.commit(staged)
        if (this.failing) info(`writing again after ${Math.round((Date.now() - since) / 1000)} s (${this.failing})`)
        this.failing = undefined
        return
      } catch (error) {
        // every failure here comes from storage (a full disk, a lost mount, HDFS down or in safe
        // mode): keep the data staged, unacked, and try again
        const message = describeSystemError(error)
        if (this.failing !== message) warn(`cannot commit ${staged.events} events: ${message}; not acking them, retrying`)
        if (!this.failing) since = Date.now()
        this.failing = message
        this.counters.add('EventWriteFailCount', staged.events)
        const delay = backoff.next()
        if (Date.now() + delay > this.giveUpAt) {
          // stopping: leave them to the upstream, which still holds them
          staged.absorb(this.staged)
          this.staged = staged
          return
        }
        // a stop (SIGTERM) cuts the back-off short: one more try, then give up by the timeout
        await pause(delay, this.stop?.aborted ? undefined : this.stop)
      }
    }
  }
}
