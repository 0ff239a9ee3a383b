import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import { warn } from '../core/log.js'
import type { Taken } from './log-writer.js'
import { readOffset, saveOffset, saveOffsetAsync, type Offset } from './offsets.js'
import { quarantine } from './quarantine.js'
import { checkRecord, linesOf } from './record.js'
import { readAt } from '../core/read-at.js'
import { endIndex, skipBad } from './recovery.js'
import { listSegments, segmentPath } from './segments.js'

// One named reader of the log: reads records from its durable offset on, across segments, and
// hands out their payloads (event heads) with the offset just past them. It only reads; the
// offset moves when the engine says the events are durable downstream (commit()).

export interface ReadBatch {
  // the events, as runs of heads each followed by "\n" (forEachLine() walks them one by one):
  // views into the reader's buffer, valid until the next read() (write or copy them before)
  runs: Buffer[]
  count: number
  end: Offset // the offset after the last record of the batch
}

export interface ReaderEvents {
  onDropped?: (n: number) => void
  onQuarantined?: (n: number) => void
  // a writer in the same process: batches it just appended, when the reader is at their place
  recent?: (segment: number, pos: number) => Taken | undefined
  // ... and the segments it knows, oldest first
  segments?: () => number[]
  // ... and where its log ends now (the active segment and its size): a reader there has nothing
  // new, known without a stat of the file
  end?: () => { segment: number; pos: number }
}

const CHUNK = 1024 * 1024
// the events of one read(), at most (a batch is written downstream in one go)
const MAX_BATCH_EVENTS = 16384
const SAVE_EVERY = 250

export class LogReader {
  private fd = -1
  private segment = 0
  private pos = 0
  next = 0 // the next index to hand out
  saved: Offset // the durable offset (what segment deletion may rely on)
  private pending?: Offset // acked downstream, not saved yet
  private saveTimer?: NodeJS.Timeout
  private saving?: Promise<void>
  private inFlight?: Offset // the offset that save is writing
  // one buffer for every read: records are checked in it and heads handed out as views
  private buf = Buffer.allocUnsafe(CHUNK)
  private left?: number // the segment read before this one
  // the index after the log's last record when this reader opened (its backlog's end, without a
  // second walk of the last segment)
  readonly endAtOpen: number

  constructor(
    private readonly dir: string,
    readonly name: string,
    private readonly events: ReaderEvents = {},
  ) {
    const bases = listSegments(dir)
    const loaded = readOffset(dir, name)
    const oldest = { index: bases[0] ?? 0, segment: bases[0] ?? 0, pos: 0 }
    if (loaded && !loaded.ok) {
      warn(
        `reader ${name}: ${loaded.path}: ${loaded.why}, so its place is unknown: reading from the oldest record (index ${oldest.index}); what it had taken is sent again`,
      )
    }
    let offset = loaded?.ok ? loaded.offset : oldest
    // Past the end of the log: the channel lost data that was not yet fsynced (a power loss) and
    // the upstream re-sends it under the same indexes. Start at the end, or those would be skipped.
    const end = bases.length ? endIndex(dir, bases.at(-1)!) : 0
    this.endAtOpen = end
    if (offset.index > end) {
      warn(`reader ${name}: its offset ${offset.index} is past the end of the log (${end}), as after a power loss: reading from ${end}`)
      offset = { index: end, segment: bases.at(-1) ?? 0, pos: 0 }
    }
    this.saved = offset
    this.next = offset.index
    this.seek(offset, bases)
    saveOffset(dir, name, this.position()) // registers the reader
    this.saved = this.position()
  }

  private seek(offset: Offset, bases: number[]): void {
    if (bases.length === 0) return
    let base = bases.includes(offset.segment) ? offset.segment : [...bases].reverse().find((b) => b <= offset.index)
    if (base === undefined) {
      // the oldest segments were dropped (--when-full drop-oldest) before this reader got them
      base = bases[0]!
      this.dropped(base - offset.index)
      this.next = base
    }
    this.open(base, base === offset.segment ? offset.pos : 0)
    // the offset must name the record at pos; otherwise find it by index from the segment start
    const size = fstatSync(this.fd).size
    if (this.pos > size) this.pos = 0
    if (this.pos < size) {
      const check = checkRecord(readAt(this.fd, this.pos, Math.min(CHUNK, size - this.pos)), 0, Math.min(CHUNK, size - this.pos))
      const holds = check.kind === 'ok' && check.record.index <= this.next && this.next < check.record.index + check.record.count
      if (!holds) this.pos = 0
    }
  }

  private open(base: number, pos: number): void {
    if (this.fd >= 0) closeSync(this.fd)
    this.left = this.fd >= 0 ? this.segment : undefined
    this.fd = openSync(segmentPath(this.dir, base), 'r')
    this.segment = base
    this.pos = pos
  }

  private dropped(n: number): void {
    if (n <= 0) return
    warn(`reader ${this.name}: ${n} event(s) were dropped (--when-full drop-oldest) before it read them`)
    this.events.onDropped?.(n)
  }

  position(): Offset {
    return { index: this.next, segment: this.segment, pos: this.pos }
  }

  // The segments of the log, oldest first: from the writer in this process if there is one (no
  // directory listing for every read), else from the directory.
  private segments(): number[] {
    return this.events.segments?.() ?? listSegments(this.dir)
  }

  // The next records, or undefined when there is nothing new yet (the caller waits and retries).
  read(): ReadBatch | undefined {
    for (let guard = 0; guard < 1000; guard++) {
      if (this.fd < 0) {
        const bases = listSegments(this.dir)
        if (bases.length === 0) return undefined
        this.open(bases[0]!, 0)
      }
      const fresh = this.events.recent?.(this.segment, this.pos)
      if (fresh && fresh.first === this.next) {
        // just appended by the writer in this process: its bytes are in memory, no need to read
        // them back and check them again
        this.pos = fresh.end
        this.next = fresh.first + fresh.count
        return { runs: fresh.runs, count: fresh.count, end: this.position() }
      }
      const end = this.events.end?.()
      if (end && end.segment === this.segment && end.pos === this.pos) return undefined // caught up
      const stat = fstatSync(this.fd)
      if (stat.nlink === 0) {
        // dropped under us (drop-oldest): jump to the oldest segment left
        const oldest = this.segments().find((b) => b > this.segment)
        if (oldest === undefined) return undefined
        this.dropped(oldest - this.next)
        this.next = Math.max(this.next, oldest)
        this.open(oldest, 0)
        continue
      }
      const size = stat.size
      if (this.pos >= size) {
        const later = this.segments().find((b) => b > this.segment)
        // re-check: the writer may have appended before it rolled
        if (later === undefined || fstatSync(this.fd).size > this.pos) return undefined
        this.open(later, 0)
        continue
      }
      const batch = this.parse(size)
      if (batch === 'moved') continue
      return batch
    }
    return undefined
  }

  // Reads into the shared buffer (a bigger one for a record longer than it).
  private readChunk(length: number): Buffer {
    if (length > this.buf.length) return readAt(this.fd, this.pos, length)
    let got = 0
    while (got < length) {
      const n = readSync(this.fd, this.buf, got, length - got, this.pos + got)
      if (n === 0) break
      got += n
    }
    return this.buf.subarray(0, got)
  }

  private parse(size: number): ReadBatch | undefined | 'moved' {
    let buf = this.readChunk(Math.min(CHUNK, size - this.pos))
    const runs: Buffer[] = []
    let count = 0
    let at = 0
    while (at < buf.length && count < MAX_BATCH_EVENTS) {
      const check = checkRecord(buf, at, buf.length)
      if (check.kind === 'ok') {
        const r = check.record
        if (r.index > this.next) this.missing(r.index - this.next, this.pos + at)
        if (r.index + r.count > this.next) {
          const got = linesOf(r, this.next)
          runs.push(got.lines)
          count += got.count
          this.next = r.index + r.count
        }
        at = r.end
        continue
      }
      if (at > 0) break // hand out what came before first; the rest is read from its start
      if (check.kind === 'partial' && this.pos + check.need <= size && check.need > buf.length) {
        buf = this.readChunk(check.need) // one record longer than the chunk: read it whole
        continue
      }
      if (this.skipCorrupt(size)) return 'moved'
      break
    }
    this.pos += at
    return count || at > 0 ? { runs, count, end: this.position() } : undefined
  }

  // Events that should have been here are not: a segment was cut short or emptied (by hand, or
  // by a disk that lost them) after they were written. Said once per gap, and counted.
  private missing(n: number, pos: number): void {
    // at the start of a segment, they were at the end of the one before
    const where =
      pos === 0 && this.left !== undefined
        ? segmentPath(this.dir, this.left)
        : `${segmentPath(this.dir, this.segment)} (before byte ${pos})`
    warn(`${where}: ${n} event(s) missing (index ${this.next} to ${this.next + n - 1}): the file was cut short or emptied`)
    this.events.onQuarantined?.(n)
    this.next += n
  }

  // At this.pos is a record that fails its check, or whose length points past the end of the
  // file. Returns true when the reader moved past it (skipBad, the same way recovery does).
  private skipCorrupt(size: number): boolean {
    const bad = skipBad(this.dir, this.segment, this.fd, this.pos, size, this.next)
    if (!bad.tail) {
      if (bad.lost) this.events.onQuarantined?.(bad.lost)
      this.next = bad.nextIndex
      this.pos = bad.to
      return true
    }
    // Nothing intact after it. In the active segment that is a record being written (or a torn
    // one the writer cuts off when it starts): wait. A sealed segment never changes again: keep
    // its bad end in quarantine and go on with the next segment (what is missing is said there).
    const later = this.segments().find((b) => b > this.segment)
    if (later === undefined || fstatSync(this.fd).size !== size) return false
    const lost = Math.max(0, later - this.next)
    const where = quarantine(this.dir, this.segment, this.pos, bad.bytes)
    warn(
      `${segmentPath(this.dir, this.segment)}: ${lost} event(s) skipped in ${bad.bytes.length} bad bytes at its end (byte ${this.pos}), kept in ${where}`,
    )
    if (lost) this.events.onQuarantined?.(lost)
    this.next = Math.max(this.next, later)
    this.pos = size
    return true
  }

  // The events up to `offset` are durable downstream: save it (coalesced, at most every 250 ms: a
  // save is an open, write, fsync and rename; what a crash loses of it is only sent again).
  commit(offset: Offset): void {
    this.pending = offset
    this.saveTimer ??= setTimeout(() => this.saveLater(), SAVE_EVERY)
  }

  private saveLater(): void {
    this.saveTimer = undefined
    if (this.saving || !this.pending) {
      if (this.pending) this.saveTimer = setTimeout(() => this.saveLater(), SAVE_EVERY)
      return
    }
    const offset = this.pending
    this.pending = undefined
    this.inFlight = offset
    this.saving = saveOffsetAsync(this.dir, this.name, offset).then(
      () => {
        this.saved = offset
        this.saving = this.inFlight = undefined
      },
      (error: Error) => {
        this.saving = this.inFlight = undefined
        this.pending ??= offset
        warn(`reader ${this.name}: could not save its offset: ${error.message}`)
      },
    )
  }

  // Saves the latest offset now (at the end: after any save still running).
  async saveNow(): Promise<void> {
    if (this.saveTimer) clearTimeout(this.saveTimer)
    this.saveTimer = undefined
    await this.saving
    if (!this.pending) return
    saveOffset(this.dir, this.name, this.pending)
    this.saved = this.pending
    this.pending = undefined
  }

  // At once, before an exit that cannot wait (the tsf reader downstream went away): what it acked
  // is saved, so a restart does not send it again. A save still running off the loop is left
  // behind: it writes its own temporary file and the process ends before it can rename it.
  saveAtExit(): void {
    const offset = this.pending ?? this.inFlight
    if (!offset || offset.index <= this.saved.index) return
    saveOffset(this.dir, this.name, offset, 'exit.tmp')
    this.saved = offset
    this.pending = undefined
  }

  async close(): Promise<void> {
    await this.saveNow()
    if (this.fd >= 0) closeSync(this.fd)
    this.fd = -1
  }
}
