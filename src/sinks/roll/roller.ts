import { plainLineHead, type EventHead } from '../../core/event.js'
import { describeSystemError } from '../../core/errors.js'
import { releaseEvents, type EventInput, type InputBatch } from '../../core/link/reader.js'
import { info, warn, warnOnce } from '../../core/log.js'
import type { Counters } from '../../core/metrics.js'
import type { EscapeContext } from './escapes.js'
import { EventFields } from './event-fields.js'
import { encodeChunk, type RollFormat } from './format.js'
import { fileNames, type Bucket, type Layout } from './layout.js'
import type { OpenFile } from './open-file.js'
import { publishFile } from './publish.js'
import { RangeSet } from './ranges.js'
import { addCut, sliceForFiles, Staged, type StagedBucket } from './staged.js'
import { recover } from './recover.js'
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

const RETRY_MIN = 500
const RETRY_MAX = 30_000

export class Roller {
  private readonly state: RollState
  private readonly open = new Map<string, OpenFile>()
  private staged = new Staged()
  private queue: Promise<void> = Promise.resolve()
  private commitQueued = false
  // set while a group waits to be due (group commit)
  private groupTimer?: NodeJS.Timeout
  private maintainQueued = false
  private fatal?: unknown
  private failing?: string // the error that keeps a commit from succeeding, while it lasts
  // a line cut into pieces ("cont"): the bucket its pieces go to, per stream
  private readonly contBucket = new Map<string, Bucket>()
  private readonly contOwner = new Map<string, string>()
  private giveUpAt = Infinity
  // the group a commit is writing: its seqs count as seen for what is staged meanwhile
  private committing?: Staged
  private stop?: AbortSignal
  private input?: EventInput
  // final names taken by files in progress
  private readonly claimed = new Set<string>()
  // files being published; kept until that succeeds (a failure is retried at the next maintain)
  private readonly retiring = new Set<OpenFile>()
  // the event being staged (one reader for all) and the escape context that reads from it
  private readonly fields: EventFields
  private readonly eventContext: EscapeContext
  // set by bucketFor: end the partial line in the bucket first
  private breakLine = false

  constructor(
    private readonly options: RollerOptions,
    private readonly counters: Counters,
  ) {
    this.state = new RollState(options.storage, options.horizon)
    const fields = (this.fields = new EventFields(options.format === 'body'))
    this.eventContext = {
      ts: 0,
      header: (name) => fields.header(name),
      get host() {
        return fields.host()
      },
    }
    counters.gauge('OpenFileCount', () => this.open.size)
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
      this.enqueue(() => this.finaliseAll('SIGHUP'))
    }
    process.on('SIGHUP', onHup)
    const maxStaged = this.options.maxStaged ?? 8 * 1024 * 1024
    try {
      for await (const batch of input.batches()) {
        if (this.fatal) throw this.fatal
        this.stage(batch)
        this.commitWhenDue()
        if (this.staged.bytes >= maxStaged) await this.queue
      }
      if (tick) clearInterval(tick)
      process.off('SIGHUP', onHup)
      this.clearGroupTimer()
      this.schedule('commit')
      this.enqueue(() => this.finaliseAll())
      await this.queue
      if (this.fatal) throw this.fatal
      const unwritten = this.staged.events
      if (unwritten) {
        warn(
          `${unwritten} events were not written (${this.failing ?? 'stopped'}); they stay unacked with the upstream, which sends them again`,
        )
        // after a signal or the upstream's death that is expected (the runtime makes the latter 3)
        return stop.aborted || input.upstreamLost ? 0 : 1
      }
      await this.state.compact().catch((error) => warn(`could not compact the state: ${describeSystemError(error)}`))
      return 0
    } finally {
      if (tick) clearInterval(tick)
      this.clearGroupTimer()
      process.off('SIGHUP', onHup)
      await this.state.close().catch(() => undefined)
      for (const f of [...this.open.values(), ...this.retiring]) await f.file.close().catch(() => undefined)
      await this.options.storage.unlock()
    }
  }

  // Read the fields roll needs, dedupe, format, group by bucket. No I/O: this runs while a commit
  // is in flight. No JSON.parse and no per-event buffers or views: the events are read where they
  // lie in the batch's bytes (InputOptions.lines 'heads': each head and a newline), and the body is
  // unescaped straight into its bucket's staging chunk.
  private stage(batch: InputBatch): void {
    const staged = this.staged
    const now = Date.now()
    if (staged.batches.length === 0) staged.since = now
    staged.batches.push(batch)
    const lines = batch.lines
    const heads = lines ? undefined : batch.heads
    const received = lines ? batch.count! : heads!.length
    const fields = this.fields
    const json = this.options.format === 'json'
    let duplicates = 0
    // the stream of the event before (most events of a batch share it): its string and seq sets
    let lastSrc: string | undefined
    let lastSrcBytes = EMPTY
    let committed: RangeSet | undefined
    let pending: RangeSet | undefined
    let inFlight: RangeSet | undefined
    // a seq above everything seen of lastSrc (committed, in flight, staged): the next one of an
    // in-order stream is new without a lookup in the three sets
    let next = Number.NaN
    // the bucket of the event before: the next body is unescaped into its chunk, where it most
    // likely belongs (committed there without a copy, copied elsewhere otherwise)
    let guess: StagedBucket | undefined
    let at = 0
    for (let k = 0; k < received; k++) {
      let buf: Buffer
      let start: number
      let end: number
      if (lines) {
        buf = lines
        start = at
        end = lines.indexOf(10, at)
        at = end + 1
      } else {
        const head = heads![k]!
        buf = typeof head === 'string' ? Buffer.from(head) : head
        start = 0
        end = buf.length
      }
      if (guess && !json) fields.placeBodyAt(guess.data.reserve(end - start + 1), guess.data.offset)
      if (!fields.read(buf, start, end)) {
        this.stagePlain(buf.subarray(start, end), now)
        continue
      }
      let src: string | undefined
      const seq = fields.seq
      if (fields.srcStart !== -1 && Number.isSafeInteger(seq)) {
        if (lastSrc !== undefined && fields.srcEquals(lastSrcBytes)) src = lastSrc
        else {
          src = fields.src()
          if (src !== undefined) {
            lastSrc = src
            lastSrcBytes = fields.srcBytes()
            committed = this.state.streams.get(src)?.ranges
            pending = staged.seqs.get(src)
            inFlight = this.committing?.seqs.get(src)
            next = Number.NaN
          }
        }
        if (src !== undefined && seq === next) {
          pending!.add(seq)
          next = seq + 1
        } else if (src !== undefined) {
          // seen if committed, staged before, or in the group being committed right now
          if (committed?.has(seq) || pending?.has(seq) || inFlight?.has(seq)) {
            duplicates++
            continue
          }
          if (!pending) staged.seqs.set(src, (pending = new RangeSet()))
          pending.add(seq)
          const above = pending.max === seq && seq > (committed?.max ?? -Infinity) && seq > (inFlight?.max ?? -Infinity)
          next = above ? seq + 1 : Number.NaN
        }
      }
      const entry = staged.entry(this.bucketFor(fields.ts, src ?? '', fields.cont, now, this.eventContext))
      if (this.breakLine) {
        fields.detach() // the newline goes where the body was placed
        entry.data.appendByte(NL)
        addCut(entry)
      }
      if (json) {
        entry.data.append(buf, start, end)
        entry.data.append(CLOSE_NL)
      } else {
        const placed = entry === guess ? fields.placed() : -1
        if (placed >= 0) entry.data.commit(placed)
        else {
          const out = entry.data.reserve(fields.bodyBound() + 1)
          const n = fields.writeBody(out, entry.data.offset)
          if (n === -1) {
            // a body with a malformed escape: its raw text, rather than nothing
            warnOnce('bad-escape', 'an event body with a malformed escape was written as its raw JSON text')
            entry.data.append(fields.rawBody())
          } else entry.data.commit(n)
        }
        if (!fields.cont) entry.data.appendByte(NL)
      }
      guess = entry
      entry.events++
      staged.events++
      if (!fields.cont || json) addCut(entry)
    }
    // the events' bytes are copied: the reader may frame later input into them, and only the
    // staged copy stays in memory until the ack
    if (lines) releaseEvents(batch)
    else (heads as EventHead[]).length = 0
    staged.bytes += batch.bytes
    this.counters.add('EventReceivedCount', received)
    if (duplicates) {
      this.counters.add('EventDuplicateCount', duplicates)
      warnOnce(
        'duplicates',
        `dropped events already written (same src and seq): redelivered after a restart or a retransmit (counted in EventDuplicateCount)`,
      )
    }
  }
  // A line that is not a tsf event (it only looked like one: "{" and "}" around it) is written as
  // the text it is; in --format json as an event with that text as its body.
  private stagePlain(head: Buffer, now: number): void {
    warnOnce('bad-head', 'a line that looked like a tsf event was not valid JSON: written as plain text')
    const line = Buffer.concat([head, CLOSE])
    const entry = this.staged.entry(this.bucketFor(NaN, '', false, now, { ts: now }))
    if (this.breakLine) {
      entry.data.appendByte(NL)
      addCut(entry)
    }
    if (this.options.format === 'json') {
      entry.data.append(Buffer.from(plainLineHead(line)))
      entry.data.append(CLOSE_NL)
    } else {
      entry.data.append(line)
      entry.data.appendByte(NL)
    }
    entry.events++
    this.staged.events++
    addCut(entry)
  }

  // The bucket an event belongs to: by its own time (never by arrival, unless --use-local-time).
  // The pieces of one cut line stay together in the bucket of the first piece. `breakLine` is set
  // when another stream's event lands in the middle of a cut line: the partial line is ended
  // rather than spliced with another line (nothing is lost; the rest follows as its own line).
  private bucketFor(eventTs: number, stream: string, cont: boolean, now: number, context: EscapeContext): Bucket {
    this.breakLine = false
    let ts = now
    if (!this.options.useLocalTime) {
      if (Number.isFinite(eventTs)) ts = eventTs
      else warnOnce('no-ts', 'an event without a numeric "ts" was bucketed by its arrival time')
    }
    context.ts = ts
    if (this.options.format !== 'body' || (this.contBucket.size === 0 && !cont)) return this.options.layout.bucketOf(context)
    const bucket = this.contBucket.get(stream) ?? this.options.layout.bucketOf(context)
    const owner = this.contOwner.get(bucket.key)
    if (owner !== undefined && owner !== stream) {
      warnOnce(
        'cont-interleaved',
        'a line cut into pieces was interleaved with events of another stream: its pieces are written as separate lines',
      )
      this.breakLine = true
      this.contBucket.delete(owner)
      this.contOwner.delete(bucket.key)
    }
    if (cont) {
      this.contBucket.set(stream, bucket)
      this.contOwner.set(bucket.key, stream)
    } else if (this.contOwner.get(bucket.key) === stream) {
      this.contBucket.delete(stream)
      this.contOwner.delete(bucket.key)
    }
    return bucket
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
        await this.maintain()
      })
    } else {
      if (this.maintainQueued || this.commitQueued) return
      this.maintainQueued = true
      this.enqueue(async () => {
        this.maintainQueued = false
        await this.maintain()
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
    try {
      await this.commitWithRetry(staged)
      // committed (or, when giving up, moved back into this.staged: then its chunks live on)
      if (this.staged !== staged) staged.release()
    } finally {
      this.committing = undefined
    }
  }

  private async commitWithRetry(staged: Staged): Promise<void> {
    let delay = RETRY_MIN
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
        if (Date.now() + delay > this.giveUpAt) {
          // stopping: leave them to the upstream, which still holds them
          staged.absorb(this.staged)
          this.staged = staged
          return
        }
        // a stop (SIGTERM) cuts the back-off short: one more try, then give up by the timeout
        await sleep(delay, this.stop?.aborted ? undefined : this.stop)
        delay = Math.min(delay * 2, RETRY_MAX)
      }
    }
  }

  private async commit(staged: Staged): Promise<void> {
    const { count, size, gzip } = this.options
    // open every file first: making room (--max-open) must not close a file this commit writes to
    const firsts = new Map<string, OpenFile>()
    for (const { bucket } of staged.buckets.values())
      firsts.set(bucket.key, this.open.get(bucket.key) ?? (await this.openFile(bucket, staged)))
    const writes: { file: OpenFile; len: number; raw: number; events: number }[] = []
    const filled: OpenFile[] = []
    const opened: OpenFile[] = []
    try {
      for (const entry of staged.buckets.values()) {
        let file = firsts.get(entry.bucket.key)!
        for (const slice of sliceForFiles(entry, file, { count, size })) {
          const data = await encodeChunk(slice.parts, slice.bytes, gzip)
          writes.push({ file, len: file.len + data.length, raw: file.raw + slice.bytes, events: slice.events })
          await file.file.append(data.parts)
          if (slice.fills) {
            filled.push(file)
            file = await this.openFile(entry.bucket, staged)
            opened.push(file)
          }
        }
      }
      await Promise.all(writes.map((w) => w.file.file.sync()))
      await this.state.commitBatch(new Map(writes.map((w) => [w.file.rel, w.len])), staged.seqs)
    } catch (error) {
      // nothing of this commit may stay in a file: cut every written file back
      for (const w of writes) await w.file.file.truncate(w.file.len).catch(() => undefined)
      // each bucket keeps its first file; files opened for the overflow go away at once (empty;
      // a retry would otherwise open new ones each time). Their state entries hold 0 bytes and
      // are dropped by the next start.
      for (const [key, f] of firsts) this.open.set(key, f)
      for (const f of opened) {
        await f.file.close().catch(() => undefined)
        await this.options.storage.remove(f.rel).catch(() => undefined)
        this.claimed.delete(f.stem + f.suffix)
      }
      throw error
    }
    const now = Date.now()
    for (const w of writes) {
      w.file.len = w.len
      w.file.raw = w.raw
      w.file.events += w.events
      w.file.lastWrite = now
    }
    // full files are published by the maintenance that follows every commit
    for (const f of filled) this.retiring.add(f)
    this.counters.add('EventDrainSuccessCount', staged.events)
    for (const batch of staged.batches) this.input?.done(batch)
  }

  private async openFile(bucket: Bucket, staged: Staged): Promise<OpenFile> {
    // room for one more (--max-open): close the least recently written file this commit does not use
    while (this.open.size >= this.options.maxOpen) {
      const lru = [...this.open.values()].filter((f) => !staged.buckets.has(f.bucket.key)).sort((a, b) => a.lastWrite - b.lastWrite)[0]
      if (!lru) break
      await this.finalise(lru)
    }
    const opened = Date.now()
    let names = fileNames(bucket, opened, 1)
    for (
      let n = 2;
      this.claimed.has(names.final) ||
      (await this.options.storage.exists(names.final)) ||
      (await this.options.storage.exists(names.inProgress));
      n++
    ) {
      names = fileNames(bucket, opened, n)
    }
    await this.state.opening(names.inProgress, names.stem, names.suffix)
    const file = await this.options.storage.create(names.inProgress)
    const open: OpenFile = {
      bucket,
      file,
      rel: names.inProgress,
      stem: names.stem,
      suffix: names.suffix,
      len: 0,
      raw: 0,
      events: 0,
      openedAt: opened,
      lastWrite: opened,
    }
    this.open.set(bucket.key, open)
    this.claimed.add(names.final)
    return open
  }

  // Rolls files that are due, between commits.
  private async maintain(): Promise<void> {
    for (const f of [...this.retiring]) await this.retire(f)
    const { interval, size, count, idle } = this.options
    const now = Date.now()
    for (const f of [...this.open.values()]) {
      if (f.len === 0) continue
      const midLine = this.contOwner.has(f.bucket.key)
      const due =
        (!midLine && ((size && f.raw >= size) || (count && f.events >= count) || (interval && now - f.openedAt >= interval))) ||
        (idle && now - f.lastWrite >= idle)
      if (due) await this.finalise(f)
    }
    // a commit that spanned more buckets than --max-open opened them all: back down to the limit
    if (this.open.size > this.options.maxOpen) {
      const byAge = [...this.open.values()].sort((a, b) => a.lastWrite - b.lastWrite)
      for (const f of byAge.slice(0, this.open.size - this.options.maxOpen)) await this.finalise(f)
    }
  }

  // Takes a file out of use (its bucket's next events open a new file) and publishes it.
  private async finalise(f: OpenFile): Promise<void> {
    if (this.open.get(f.bucket.key) === f) this.open.delete(f.bucket.key)
    this.retiring.add(f)
    await this.retire(f)
  }

  private async retire(f: OpenFile): Promise<void> {
    try {
      if (f.len === 0) {
        // opened but nothing committed (its first write failed): nobody needs it
        await this.options.storage.remove(f.rel)
        await this.state.closed([f.rel])
      } else {
        // a retry resumes under the name an earlier attempt recorded
        await publishFile(this.options.storage, this.state, f.rel, {
          stem: f.stem,
          suffix: f.suffix,
          final: this.state.files.get(f.rel)?.final,
        })
        this.counters.add('RollCount')
      }
    } catch (error) {
      warn(
        `cannot publish ${this.options.storage.describe(f.rel)}: ${describeSystemError(error)}; retrying (the next start finishes it otherwise)`,
      )
      return
    }
    this.retiring.delete(f)
    this.claimed.delete(f.stem + f.suffix)
    await f.file.close().catch(() => undefined)
  }

  private async finaliseAll(why?: string): Promise<void> {
    const n = this.open.size
    for (const f of [...this.open.values()]) await this.finalise(f)
    for (const f of [...this.retiring]) await this.retire(f)
    if (why && n) info(`${why}: closed ${n} file${n === 1 ? '' : 's'}`)
  }
}

const CLOSE = Buffer.from('}')
const CLOSE_NL = Buffer.from('}\n')
const NL = 0x0a
const EMPTY: Buffer = Buffer.alloc(0)

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done(): void {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
