import { closeSync, existsSync, fstatSync, openSync } from 'node:fs'
import type { EventHead } from '../core/event.js'
import { warn } from '../core/log.js'
import type { Appended } from './log-writer.js'
import { loadOffset, saveOffset, saveOffsetAsync, type Offset } from './offsets.js'
import { quarantine } from './quarantine.js'
import { checkRecord, HEADER, resync } from './record.js'
import { endIndex, readAt } from './recovery.js'
import { listSegments, segmentPath } from './segments.js'

// One named reader of the log: reads records from its durable offset on, across segments, and
// hands out their payloads (event heads) with the offset just past them. It only reads; the
// offset moves when the engine says the events are durable downstream (commit()).

export interface ReadBatch {
  heads: EventHead[]
  end: Offset // the offset after the last record of the batch
}

export interface ReaderEvents {
  onDropped?: (n: number) => void
  onQuarantined?: (n: number) => void
  // a writer in the same process: batches it just appended, when the reader is at their place
  recent?: (segment: number, pos: number) => Appended | undefined
}

const CHUNK = 1024 * 1024

export class LogReader {
  private fd = -1
  private segment = 0
  private pos = 0
  next = 0 // the next index to hand out
  saved: Offset // the durable offset (what segment deletion may rely on)
  private pending?: Offset // acked downstream, not saved yet
  private saveTimer?: NodeJS.Timeout
  private saving?: Promise<void>

  constructor(
    private readonly dir: string,
    readonly name: string,
    private readonly events: ReaderEvents = {},
  ) {
    const bases = listSegments(dir)
    let offset = loadOffset(dir, name) ?? { index: bases[0] ?? 0, segment: bases[0] ?? 0, pos: 0 }
    // Past the end of the log: the channel lost data that was not yet fsynced (a power loss) and
    // the upstream re-sends it under the same indexes. Start at the end, or those would be skipped.
    const end = bases.length ? endIndex(dir, bases.at(-1)!) : 0
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
      if (check.kind === 'ok' && check.record.index !== this.next) this.pos = 0
    }
  }

  private open(base: number, pos: number): void {
    if (this.fd >= 0) closeSync(this.fd)
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

  // The next records, or undefined when there is nothing new yet (the caller waits and retries).
  read(): ReadBatch | undefined {
    for (let guard = 0; guard < 1000; guard++) {
      if (this.fd < 0) {
        const bases = listSegments(this.dir)
        if (bases.length === 0) return undefined
        this.open(bases[0]!, 0)
      }
      if (!existsSync(segmentPath(this.dir, this.segment))) {
        // dropped under us (drop-oldest): jump to the oldest segment left
        const oldest = listSegments(this.dir).find((b) => b > this.segment)
        if (oldest === undefined) return undefined
        this.dropped(oldest - this.next)
        this.next = Math.max(this.next, oldest)
        this.open(oldest, 0)
        continue
      }
      const fresh = this.events.recent?.(this.segment, this.pos)
      if (fresh && fresh.first === this.next) {
        this.pos = fresh.end
        this.next = fresh.first + fresh.heads.length
        return { heads: fresh.heads as EventHead[], end: this.position() }
      }
      const size = fstatSync(this.fd).size
      if (this.pos >= size) {
        const later = listSegments(this.dir).find((b) => b > this.segment)
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

  private parse(size: number): ReadBatch | undefined | 'moved' {
    let want = Math.min(CHUNK, size - this.pos)
    let buf = readAt(this.fd, this.pos, want)
    const heads: Buffer[] = []
    let at = 0
    while (at < buf.length) {
      const check = checkRecord(buf, at, buf.length)
      if (check.kind === 'ok') {
        const r = check.record
        if (r.index >= this.next) {
          heads.push(r.payload)
          this.next = r.index + 1
        }
        at = r.end
        continue
      }
      if (check.kind === 'partial' && at === 0 && this.pos + check.need <= size) {
        // one record longer than the chunk: read it whole
        want = check.need
        buf = readAt(this.fd, this.pos, want)
        continue
      }
      if (check.kind === 'partial' && at > 0) break
      if (at > 0) break // hand out what came before the bad record first
      if (this.skipCorrupt(size, check.kind === 'partial')) return 'moved'
      break
    }
    this.pos += at
    return heads.length || at > 0 ? { heads, end: this.position() } : undefined
  }

  // At this.pos is a record that is bad or cut short. Returns true when the reader moved past it.
  private skipCorrupt(size: number, short: boolean): boolean {
    const sealed = listSegments(this.dir).some((b) => b > this.segment)
    const rest = readAt(this.fd, this.pos, size - this.pos)
    const next = short ? -1 : resync(rest, 0, rest.length)
    if (next === -1) {
      // The end of the active segment: a record being written, or a torn one the writer cuts off
      // when it starts. Wait. In a sealed segment nothing more will come: quarantine it.
      if (!sealed || fstatSync(this.fd).size !== size) return false
      const where = quarantine(this.dir, this.segment, this.pos, rest)
      warn(`${segmentPath(this.dir, this.segment)}: ${rest.length} bad bytes at the end (byte ${this.pos}), kept in ${where}`)
      this.pos = size
      return true
    }
    const after = checkRecord(rest, next, rest.length)
    const lost = Math.max(1, after.kind === 'ok' ? after.record.index - this.next : 1)
    const where = quarantine(this.dir, this.segment, this.pos, rest.subarray(0, next))
    warn(`${segmentPath(this.dir, this.segment)}: corrupt record at byte ${this.pos}: ${lost} event(s) skipped, bytes kept in ${where}`)
    this.events.onQuarantined?.(lost)
    this.pos += next
    return true
  }

  // The events up to `offset` are durable downstream: save it (coalesced, at most every 100 ms).
  commit(offset: Offset): void {
    this.pending = offset
    this.saveTimer ??= setTimeout(() => this.saveLater(), 100)
  }

  private saveLater(): void {
    this.saveTimer = undefined
    if (this.saving || !this.pending) {
      if (this.pending) this.saveTimer = setTimeout(() => this.saveLater(), 100)
      return
    }
    const offset = this.pending
    this.pending = undefined
    this.saving = saveOffsetAsync(this.dir, this.name, offset).then(
      () => {
        this.saved = offset
        this.saving = undefined
      },
      (error: Error) => {
        this.saving = undefined
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

  async close(): Promise<void> {
    await this.saveNow()
    if (this.fd >= 0) closeSync(this.fd)
    this.fd = -1
  }
}

export { HEADER }
