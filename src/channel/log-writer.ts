import { EventEmitter } from 'node:events'
import { closeSync, fdatasync, fsync, fsyncSync, ftruncateSync, openSync, unlinkSync, writeSync, writevSync } from 'node:fs'
import { TsfError, describeSystemError } from '../core/errors.js'
import type { EventHead } from '../core/event.js'
import { BLOCK_HEADER, blockHeaderOf, blockSize, encodeBlock, encodeBlockLines } from './record.js'
import { recoverSegment } from './recovery.js'
import { listSegments, segmentPath, segmentSize } from './segments.js'

// The append side of the log: encodes a batch of heads into records, writes them with one
// write(2), and fsyncs in groups (group commit): while one fdatasync runs, later batches are
// written and wait for the next one, so a busy channel does one fsync per round trip to the disk,
// not one per batch. A batch's promise resolves once it is on disk; only then is it acked upstream.

// Heads laid out as a block's payload: each followed by "\n" (EventInput's lines 'heads').
export interface HeadLines {
  lines: Buffer
  count: number
}

export type FsyncPolicy = { kind: 'batch' } | { kind: 'always' } | { kind: 'interval'; ms: number }

export interface LogWriterOptions {
  dir: string
  segmentSize: number
  fsync: FsyncPolicy
  // false: no reader in this process takes blocks from memory (--write-only), so none are kept
  memoryReader?: boolean
}

// Blocks just appended, kept in memory for a reader in the same process that is caught up: it
// takes the events from here instead of reading back (and re-checking) what was just written.
// Blocks are encoded into a ring buffer and written from it, so keeping them costs no allocation
// and nothing per event; a block is forgotten when the ring comes round to its bytes again.
export interface Appended {
  segment: number
  start: number // byte position of its first record in the segment
  end: number
  first: number // index of its first event
  count: number
  lines: Buffer // the events: heads each followed by "\n" (a view into the ring)
  ring: number // where its record starts in the ring
}

export interface Taken {
  first: number // index of the first event
  count: number
  end: number // position in the segment after the last block
  runs: Buffer[] // per block, its heads each followed by "\n"
}

const RING_BYTES = 4 * 1024 * 1024
// --fsync <interval>: unsynced bytes and a pause of the input after which it syncs early
const QUIET_BYTES = 1024 * 1024
const QUIET_MS = 10

interface Waiter {
  upTo: number
  resolve: () => void
  reject: (e: Error) => void
}

export class LogWriter extends EventEmitter {
  nextIndex = 0
  // bytes of every segment on disk, by base; the last one is the active segment
  readonly sizes = new Map<number, number>()
  totalBytes = 0
  recoveredQuarantine = 0
  private fd = -1
  private active = 0
  private activeSize = 0
  private written = 0 // bytes appended since start (a running position for group commit)
  private synced = 0
  private syncing = false
  private lastSync = 0
  private syncTimer?: NodeJS.Timeout
  private quietTimer?: NodeJS.Timeout
  private flushing = false
  private waiters: Waiter[] = []
  private retired: number[] = [] // fds of sealed segments, closed once no fsync can be using them
  private failed?: Error
  private dirDirty = false
  private readonly ring = Buffer.allocUnsafe(RING_BYTES)
  private ringAt = 0
  private recent: Appended[] = [] // oldest first, in ring order
  // where the reader in this process is, as far as its last take() says (it only moves on)
  private readerAt?: { segment: number; pos: number }
  private sealedLast?: { segment: number; size: number } // the segment before the active one
  private readonly header = Buffer.alloc(BLOCK_HEADER)

  private constructor(private readonly options: LogWriterOptions) {
    super()
  }

  static open(options: LogWriterOptions): LogWriter {
    const w = new LogWriter(options)
    w.openActive()
    return w
  }

  private openActive(): void {
    const { dir } = this.options
    const bases = listSegments(dir)
    for (const base of bases.slice(0, -1)) this.track(base, segmentSize(dir, base))
    if (bases.length === 0) {
      this.create(0)
      return
    }
    const base = bases.at(-1)!
    const recovered = recoverSegment(dir, base)
    this.recoveredQuarantine = recovered.quarantined
    this.active = base
    this.fd = openSync(segmentPath(dir, base), 'r+')
    ftruncateSync(this.fd, recovered.size) // recovery cut the torn tail; be sure of the size
    this.activeSize = recovered.size
    this.track(base, recovered.size)
    this.nextIndex = recovered.nextIndex
  }

  private track(base: number, size: number): void {
    this.totalBytes += size - (this.sizes.get(base) ?? 0)
    this.sizes.set(base, size)
  }

  private create(base: number, syncDirNow = true): void {
    const { dir } = this.options
    this.fd = openSync(segmentPath(dir, base), 'wx')
    // the new name must survive a power loss too: now, or with the next group commit
    if (syncDirNow) syncDir(dir)
    else this.dirDirty = true
    this.active = base
    this.activeSize = 0
    this.nextIndex = base
    this.track(base, 0)
  }

  get activeBase(): number {
    return this.active
  }

  // Where the log ends: the active segment and the bytes written to it.
  end(): { segment: number; pos: number } {
    return { segment: this.active, pos: this.activeSize }
  }

  // Every segment on disk, oldest first; the last one is the active segment.
  bases(): number[] {
    return [...this.sizes.keys()].sort((a, b) => a - b)
  }

  // The sealed segments, oldest first (the active one is never deleted).
  sealed(): number[] {
    return [...this.sizes.keys()].filter((b) => b !== this.active).sort((a, b) => a - b)
  }

  // Appends heads as records. Resolves once they are fsynced. Throws ENOSPC synchronously (after
  // cutting the partial write back off) so the caller can wait for space and retry.
  append(events: readonly EventHead[] | HeadLines): Promise<void> {
    if (this.failed) return Promise.reject(this.failed)
    const heads = Array.isArray(events) ? (events as readonly EventHead[]) : undefined
    const lines = heads ? undefined : (events as HeadLines)
    const count = heads ? heads.length : lines!.count
    const size = heads ? blockSize(heads) : BLOCK_HEADER + lines!.lines.length
    // lines no reader here can take from memory (none here, one further behind than the ring, as
    // in W1 where the stage downstream sets the pace, or a block too big to be kept) are written as
    // they lie, after a header of their own: one copy of every byte less
    const big = size > RING_BYTES / 4
    const direct = lines !== undefined && (big || !this.reachable(size))
    const at = direct || big ? -1 : this.ringAt + size <= RING_BYTES ? this.ringAt : 0
    if (at >= 0) this.forget(at, at + size)
    if (this.recent.length > 4096) this.recent.splice(0, 1024) // many tiny batches: keep the scan short
    const into = at >= 0 ? this.ring.subarray(at) : undefined
    const time = Date.now()
    const data = direct
      ? [blockHeaderOf(this.header, lines!.lines, count, this.nextIndex, time), lines!.lines]
      : [heads ? encodeBlock(heads, this.nextIndex, time, into) : encodeBlockLines(lines!.lines, count, this.nextIndex, time, into)]
    try {
      writeAllAt(this.fd, data, size, this.activeSize)
    } catch (error) {
      try {
        ftruncateSync(this.fd, this.activeSize)
      } catch {
        // the next append overwrites the same bytes anyway
      }
      throw error
    }
    if (at >= 0) {
      this.ringAt = at + size
      const run = data[0]!.subarray(BLOCK_HEADER)
      this.recent.push({
        segment: this.active,
        start: this.activeSize,
        end: this.activeSize + size,
        first: this.nextIndex,
        count,
        lines: run,
        ring: at,
      })
    }
    this.activeSize += size
    this.track(this.active, this.activeSize)
    this.nextIndex += count
    this.written += size
    const upTo = this.written
    const promise = new Promise<void>((resolve, reject) => this.waiters.push({ upTo, resolve, reject }))
    this.emit('appended')
    if (this.activeSize >= this.options.segmentSize) this.roll()
    this.kick()
    return promise
  }

  // Whether the reader in this process can still take a block of `size` bytes appended now from the
  // ring: it is no further behind than the ring holds (before its first read: it may be caught up).
  private reachable(size: number): boolean {
    if (this.options.memoryReader === false) return false
    const r = this.readerAt
    if (!r) return true
    const last = this.sealedLast
    const behind =
      r.segment === this.active ? this.activeSize - r.pos : r.segment === last?.segment ? last.size - r.pos + this.activeSize : RING_BYTES
    return behind + size <= RING_BYTES
  }

  // The ring's bytes [from, to) are about to be overwritten: forget the blocks held there.
  private forget(from: number, to: number): void {
    // the queue is in ring order: every block older than one that overlaps goes too
    let drop = 0
    for (let i = 0; i < this.recent.length; i++) {
      const r = this.recent[i]!
      if (r.ring < to && r.ring + BLOCK_HEADER + r.lines.length > from) drop = i + 1
    }
    if (drop) this.recent.splice(0, drop)
  }

  // The events appended from this place of the log on, if they are still in memory (the blocks
  // that follow each other from there). Handed out once; the views stay valid until the next append.
  take(segment: number, pos: number): Taken | undefined {
    this.readerAt = { segment, pos }
    const recent = this.recent
    let i = 0
    while (i < recent.length && (recent[i]!.segment < segment || (recent[i]!.segment === segment && recent[i]!.start < pos))) i++
    if (i) recent.splice(0, i) // behind the reader: it has them already
    const first = recent[0]
    if (!first || first.segment !== segment || first.start !== pos) return undefined
    const taken: Taken = { first: first.first, count: 0, end: pos, runs: [] }
    let n = 0
    while (n < recent.length && n < 256 && recent[n]!.segment === segment && recent[n]!.start === taken.end) {
      const r = recent[n++]!
      taken.runs.push(r.lines)
      taken.count += r.count
      taken.end = r.end
    }
    recent.splice(0, n)
    this.readerAt = { segment, pos: taken.end }
    return taken
  }

  // Seal the active segment and start the next one. The sealed one is fsynced (and closed) by the
  // next group commit, together with the new one and the directory.
  roll(): void {
    this.retired.push(this.fd)
    this.sealedLast = { segment: this.active, size: this.activeSize }
    this.create(this.nextIndex, false)
  }

  private kick(now = false): void {
    if (this.syncing || this.written === this.synced || this.failed) return
    const policy = this.options.fsync
    // a long interval must not hold up a writer that has much unsynced data waiting
    if (!now && !this.flushing && policy.kind === 'interval' && this.written - this.synced < 8 * 1024 * 1024) {
      const wait = this.lastSync + policy.ms - Date.now()
      if (wait > 0) {
        this.syncTimer ??= setTimeout(() => {
          this.syncTimer = undefined
          this.kick()
        }, wait)
        if (this.written - this.synced >= QUIET_BYTES) this.watchQuiet()
        return
      }
    }
    this.syncing = true
    this.lastSync = Date.now()
    const upTo = this.written
    const sealed = this.retired.splice(0)
    const dir = this.dirDirty
    this.dirDirty = false
    const jobs = [...sealed, this.fd].map((fd) => new Promise<void>((resolve, reject) => fdatasync(fd, (e) => (e ? reject(e) : resolve()))))
    if (dir) jobs.push(new Promise<void>((resolve, reject) => syncDirAsync(this.options.dir, (e) => (e ? reject(e) : resolve()))))
    Promise.all(jobs)
      .then(
        () => undefined,
        (e: Error) => e,
      )
      .then((error) => {
        this.syncing = false
        for (const fd of sealed) closeSync(fd)
        if (error) return this.fail(new TsfError(`fsync in ${this.options.dir} failed: ${describeSystemError(error)}`))
        this.synced = upTo
        let i = 0
        while (i < this.waiters.length && this.waiters[i]!.upTo <= upTo) this.waiters[i++]!.resolve()
        this.waiters.splice(0, i)
        this.emit('synced')
        this.kick()
      })
  }

  // An interval policy with a MiB or more unsynced and no append for QUIET_MS: the upstream
  // most likely stopped because its window of unacked events is full, and would wait for the
  // interval with nothing to do (a tail's 8M window under --fsync 1s moved 4 MB/s). Sync now.
  private watchQuiet(): void {
    if (this.quietTimer) return
    const at = this.written
    this.quietTimer = setTimeout(() => {
      this.quietTimer = undefined
      if (this.written === at) this.kick(true)
      else if (this.written - this.synced >= QUIET_BYTES && !this.syncing) this.watchQuiet()
    }, QUIET_MS)
  }

  private fail(error: Error): void {
    this.failed = error
    for (const w of this.waiters.splice(0)) w.reject(error)
  }

  // Bytes written but not yet fsynced.
  get unsynced(): number {
    return this.written - this.synced
  }

  // Deletes a sealed segment (consumed by every reader, or dropped when full).
  remove(base: number): void {
    if (base === this.active) return
    try {
      unlinkSync(segmentPath(this.options.dir, base))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error
    }
    this.totalBytes -= this.sizes.get(base) ?? 0
    this.sizes.delete(base)
  }

  // The first index of the segment after `base` (= one past its last record).
  endOf(base: number): number {
    const later = [...this.sizes.keys()].filter((b) => b > base)
    return later.length ? Math.min(...later) : this.nextIndex
  }

  // Resolves once everything appended so far is on disk.
  async flush(): Promise<void> {
    if (this.written === this.synced) return
    const done = new Promise<void>((resolve, reject) => this.waiters.push({ upTo: this.written, resolve, reject }))
    this.flushing = true // no --fsync interval from here: the input ended, nothing more will come
    this.kick()
    await done
  }

  close(): void {
    if (this.syncTimer) clearTimeout(this.syncTimer)
    if (this.quietTimer) clearTimeout(this.quietTimer)
    if (!this.syncing) {
      for (const fd of this.retired.splice(0)) closeSync(fd)
      if (this.fd >= 0) closeSync(this.fd)
      this.fd = -1
    }
  }
}

// Writes `parts` (`size` bytes in all) at `position` of the file, all of them (a write may be cut short).
const writeAllAt = (fd: number, parts: Buffer[], size: number, position: number): void => {
  let done = parts.length === 1 ? writeSync(fd, parts[0]!, 0, size, position) : writevSync(fd, parts, position)
  while (done < size) {
    let skip = done
    let i = 0
    while (skip >= parts[i]!.length) skip -= parts[i++]!.length
    const part = parts[i]!
    done += writeSync(fd, part, skip, part.length - skip, position + done)
  }
}

const syncDir = (dir: string): void => {
  const fd = openSync(dir, 'r')
  try {
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
}

const syncDirAsync = (dir: string, done: (error: Error | null) => void): void => {
  let fd: number
  try {
    fd = openSync(dir, 'r')
  } catch (error) {
    return done(error as Error)
  }
  fsync(fd, (error) => {
    closeSync(fd)
    done(error)
  })
}
