import { createHash } from 'node:crypto'
import { describeSystemError, TsfError } from '../../core/errors.js'
import { warn } from '../../core/log.js'
import { RangeSet, type Range } from './ranges.js'
import type { RollStorage, StateLog } from './storage.js'

// Roll's durable state: which in-progress files exist and how many of their bytes are committed,
// the final name each is being published as, and per stream (src) the seq ranges already written.
// File lengths and seq ranges are committed together, in one record of an append-only log, after
// the data they cover was made durable: that record is the commit point of a batch. A snapshot
// compacts the log now and then. Each record is "<8 hex checksum> <json>\n"; a torn or corrupt
// tail (power loss) ends the replay there, which only forgets commits that were never acked.

export interface FileEntry {
  len: number
  // the final name is stem + suffix, or stem + "." + k + suffix when that is taken
  stem: string
  suffix: string
  // the name it is being published as (set just before the publish)
  final?: string
}

export interface StreamEntry {
  ranges: RangeSet
  seen: number // wall-clock ms of the last commit that touched it
}

export interface CommitRecord {
  files?: Record<string, number>
  seqs?: Record<string, Range[]>
}

interface Record_ {
  c: number
  open?: string
  stem?: string
  suffix?: string
  files?: Record<string, number>
  seqs?: Record<string, Range[]>
  t?: number
  final?: Record<string, string>
  closed?: string[]
}

interface Snapshot {
  c: number
  files: Record<string, FileEntry>
  streams: Record<string, { r: Range[]; s: number }>
}

const checksum = (text: string): string => createHash('sha256').update(text).digest('hex').slice(0, 8)

const encode = (record: Record_): Buffer => {
  const json = JSON.stringify(record)
  return Buffer.from(`${checksum(json)} ${json}\n`)
}

// Records this large trigger a snapshot and an empty log.
const COMPACT_AT = 4 * 1024 * 1024

export class RollState {
  readonly files = new Map<string, FileEntry>()
  readonly streams = new Map<string, StreamEntry>()
  private commit = 0
  private log?: StateLog

  constructor(private readonly storage: RollStorage, private readonly horizon: number) {}

  // Loads the snapshot and replays the log after it.
  async load(): Promise<void> {
    const snapshotBytes = await this.storage.readSnapshot()
    if (snapshotBytes) {
      let snap: Snapshot
      try {
        snap = JSON.parse(snapshotBytes.toString('utf8')) as Snapshot
      } catch {
        throw new TsfError(`${this.storage.describe('.tsf-roll/state.json')}: roll's state snapshot is not valid JSON (move it away to start without dedupe state)`)
      }
      this.commit = snap.c
      for (const [rel, entry] of Object.entries(snap.files)) this.files.set(rel, entry)
      for (const [src, s] of Object.entries(snap.streams)) this.streams.set(src, { ranges: new RangeSet(s.r), seen: s.s })
    }
    const logBytes = (await this.storage.readLog()) ?? Buffer.alloc(0)
    let good = 0
    let at = 0
    while (at < logBytes.length) {
      const nl = logBytes.indexOf(10, at)
      if (nl === -1) break
      const line = logBytes.toString('utf8', at, nl)
      const json = line.slice(9)
      if (line[8] !== ' ' || checksum(json) !== line.slice(0, 8)) break
      let record: Record_
      try {
        record = JSON.parse(json) as Record_
      } catch {
        break
      }
      if (record.c > this.commit) this.apply(record)
      at = nl + 1
      good = at
    }
    if (good < logBytes.length) {
      warn(`${this.storage.describe('.tsf-roll/commits.log')}: cut a torn or corrupt tail of ${logBytes.length - good} bytes (commits that were never acked)`)
    }
    this.log = await this.storage.openLog(good)
  }

  private apply(record: Record_): void {
    this.commit = record.c
    if (record.open !== undefined) this.files.set(record.open, { len: 0, stem: record.stem ?? record.open, suffix: record.suffix ?? '' })
    for (const [rel, len] of Object.entries(record.files ?? {})) {
      const entry = this.files.get(rel)
      if (entry) entry.len = len
    }
    for (const [src, ranges] of Object.entries(record.seqs ?? {})) {
      let stream = this.streams.get(src)
      if (!stream) this.streams.set(src, (stream = { ranges: new RangeSet(), seen: 0 }))
      for (const [lo, hi] of ranges) stream.ranges.addRange(lo, hi)
      stream.seen = Math.max(stream.seen, record.t ?? 0)
    }
    for (const [rel, name] of Object.entries(record.final ?? {})) {
      const entry = this.files.get(rel)
      if (entry) entry.final = name
    }
    for (const rel of record.closed ?? []) this.files.delete(rel)
  }

  private async append(record: Omit<Record_, 'c'>): Promise<void> {
    const full: Record_ = { c: this.commit + 1, ...record }
    await this.log!.append(encode(full))
    this.apply(full)
  }

  // A file is about to be created: recorded first, so that no in-progress file ever exists
  // that the state does not know about (the next start finalises or removes it).
  async opening(rel: string, stem: string, suffix: string): Promise<void> {
    await this.append({ open: rel, stem, suffix })
  }

  // The commit point of a batch: new committed lengths and the seq ranges they hold.
  async commitBatch(files: Map<string, number>, seqs: Map<string, RangeSet>): Promise<void> {
    const record: Omit<Record_, 'c'> = { t: Date.now() }
    if (files.size) record.files = Object.fromEntries(files)
    if (seqs.size) record.seqs = Object.fromEntries([...seqs].map(([src, set]) => [src, set.ranges]))
    await this.append(record)
    await this.compactIfLarge()
  }

  async publishing(rel: string, final: string): Promise<void> {
    await this.append({ final: { [rel]: final } })
  }

  async closed(rels: string[]): Promise<void> {
    if (rels.length) await this.append({ closed: rels })
    await this.compactIfLarge()
  }

  // The record before this is committed whatever happens here: a failed compaction is only
  // retried later, never reported as a failed commit (the caller would undo committed data).
  private async compactIfLarge(): Promise<void> {
    if (this.log!.size <= COMPACT_AT) return
    await this.compact().catch((error) => warn(`could not compact roll's state (retried later): ${describeSystemError(error)}`))
  }

  isDuplicate(src: string, seq: number): boolean {
    return this.streams.get(src)?.ranges.has(seq) ?? false
  }

  // Writes a snapshot of everything (streams past the dedupe horizon are forgotten) and empties
  // the log. A crash in between is harmless: replay skips records the snapshot already holds.
  async compact(): Promise<void> {
    const cutoff = Date.now() - this.horizon
    for (const [src, stream] of this.streams) if (stream.seen && stream.seen < cutoff) this.streams.delete(src)
    const snap: Snapshot = {
      c: this.commit,
      files: Object.fromEntries(this.files),
      streams: Object.fromEntries([...this.streams].map(([src, s]) => [src, { r: s.ranges.ranges, s: s.seen }])),
    }
    await this.storage.writeSnapshot(Buffer.from(JSON.stringify(snap)))
    await this.log!.reset()
  }

  async close(): Promise<void> {
    await this.log?.close()
    this.log = undefined
  }
}
