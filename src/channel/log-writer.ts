import { EventEmitter } from 'node:events'
import { closeSync, fdatasync, fsync, fsyncSync, ftruncateSync, openSync, unlinkSync, writeSync } from 'node:fs'
import { TsfError, describeSystemError } from '../core/errors.js'
import type { EventHead } from '../core/event.js'
import { encodeRecords } from './record.js'
import { recoverSegment } from './recovery.js'
import { listSegments, segmentPath, segmentSize } from './segments.js'

// The append side of the log: encodes a batch of heads into records, writes them with one
// write(2), and fsyncs in groups (group commit): while one fdatasync runs, later batches are
// written and wait for the next one, so a busy channel does one fsync per round trip to the disk,
// not one per batch. A batch's promise resolves once it is on disk; only then is it acked upstream.

export type FsyncPolicy = { kind: 'batch' } | { kind: 'always' } | { kind: 'interval'; ms: number }

export interface LogWriterOptions {
  dir: string
  segmentSize: number
  fsync: FsyncPolicy
}

// A batch just appended, kept in memory for a reader in the same process that is caught up: it
// takes the heads from here instead of reading back (and re-checking) what was just written.
export interface Appended {
  segment: number
  start: number // byte position of its first record in the segment
  end: number
  first: number // index of its first record
  heads: readonly EventHead[]
}

const RECENT_BYTES = 8 * 1024 * 1024

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
  private waiters: Waiter[] = []
  private retired: number[] = [] // fds of sealed segments, closed once no fsync can be using them
  private failed?: Error
  private dirDirty = false
  // reused for every batch: written out synchronously, so free again before the next one
  private readonly scratch = Buffer.allocUnsafe(1024 * 1024)
  private readonly recent = new Map<string, Appended>()
  private recentBytes = 0

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

  // The sealed segments, oldest first (the active one is never deleted).
  sealed(): number[] {
    return [...this.sizes.keys()].filter((b) => b !== this.active).sort((a, b) => a - b)
  }

  // Appends heads as records. Resolves once they are fsynced. Throws ENOSPC synchronously (after
  // cutting the partial write back off) so the caller can wait for space and retry.
  append(heads: readonly EventHead[]): Promise<void> {
    if (this.failed) return Promise.reject(this.failed)
    const data = encodeRecords(heads, this.nextIndex, Date.now(), this.scratch)
    let done = 0
    try {
      while (done < data.length) done += writeSync(this.fd, data, done, data.length - done, this.activeSize + done)
    } catch (error) {
      try {
        ftruncateSync(this.fd, this.activeSize)
      } catch {
        // the next append overwrites the same bytes anyway
      }
      throw error
    }
    this.remember({ segment: this.active, start: this.activeSize, end: this.activeSize + data.length, first: this.nextIndex, heads })
    this.activeSize += data.length
    this.track(this.active, this.activeSize)
    this.nextIndex += heads.length
    this.written += data.length
    const upTo = this.written
    const promise = new Promise<void>((resolve, reject) => this.waiters.push({ upTo, resolve, reject }))
    this.emit('appended')
    if (this.activeSize >= this.options.segmentSize) this.roll()
    this.kick()
    return promise
  }

  private remember(batch: Appended): void {
    this.recent.set(`${batch.segment}:${batch.start}`, batch)
    this.recentBytes += batch.end - batch.start
    for (const [key, old] of this.recent) {
      if (this.recentBytes <= RECENT_BYTES) break
      this.recent.delete(key)
      this.recentBytes -= old.end - old.start
    }
  }

  // The batch appended at this place, if it is still in memory; it is handed out once.
  take(segment: number, pos: number): Appended | undefined {
    const key = `${segment}:${pos}`
    const batch = this.recent.get(key)
    if (!batch) return undefined
    // everything before it was read already (or never will be from memory)
    for (const [k, old] of this.recent) {
      this.recent.delete(k)
      this.recentBytes -= old.end - old.start
      if (k === key) break
    }
    return batch
  }

  // Seal the active segment and start the next one. The sealed one is fsynced (and closed) by the
  // next group commit, together with the new one and the directory.
  roll(): void {
    this.retired.push(this.fd)
    this.create(this.nextIndex, false)
  }

  private kick(): void {
    if (this.syncing || this.written === this.synced || this.failed) return
    const policy = this.options.fsync
    // a long interval must not hold up a writer that has much unsynced data waiting
    if (policy.kind === 'interval' && this.written - this.synced < 8 * 1024 * 1024) {
      const wait = this.lastSync + policy.ms - Date.now()
      if (wait > 0) {
        this.syncTimer ??= setTimeout(() => {
          this.syncTimer = undefined
          this.kick()
        }, wait)
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
    Promise.all(jobs).then(() => undefined, (e: Error) => e).then((error) => {
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
    this.kick()
    await done
  }

  close(): void {
    if (this.syncTimer) clearTimeout(this.syncTimer)
    if (!this.syncing) {
      for (const fd of this.retired.splice(0)) closeSync(fd)
      if (this.fd >= 0) closeSync(this.fd)
      this.fd = -1
    }
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
