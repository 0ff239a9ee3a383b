import { createHash } from 'node:crypto'
import { describeSystemError, TsfError } from '../../core/errors.js'
import { info, warn } from '../../core/log.js'
import { IN_PROGRESS, LEGACY_IN_PROGRESS } from './layout.js'
import { RangeSet, type Range } from './ranges.js'
import { STATE_DIR, type RollStorage, type StateLog } from './storage.js'

// Roll's durable state: which in-progress files exist and how many of their bytes are committed,
// the final name each is being published as, and per stream (src) the seq ranges already written.
// File lengths and seq ranges are committed together, in one record of an append-only log, after
// the data they cover was made durable: that record is the commit point of a batch. A snapshot
// compacts the log now and then. Each record is "<8 hex checksum> <json>\n"; a torn end (power
// loss) is cut, a damaged record elsewhere is skipped (see load()).

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

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)
const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0
const isRanges = (v: unknown): v is Range[] =>
  Array.isArray(v) &&
  v.every((r) => Array.isArray(r) && r.length === 2 && Number.isSafeInteger(r[0]) && Number.isSafeInteger(r[1]) && r[0] <= r[1])
const allValues = (v: unknown, test: (x: unknown) => boolean): boolean => v === undefined || (isObject(v) && Object.values(v).every(test))
const optional = (v: unknown, type: string): boolean => v === undefined || typeof v === type

// One log line, checked (checksum, then shape); undefined when damaged.
const readRecord = (line: string): Record_ | undefined => {
  const json = line.slice(9)
  if (line[8] !== ' ' || checksum(json) !== line.slice(0, 8)) return undefined
  let r: unknown
  try {
    r = JSON.parse(json)
  } catch {
    return undefined
  }
  if (!isObject(r) || !isCount(r.c)) return undefined
  if (!optional(r.open, 'string') || !optional(r.stem, 'string') || !optional(r.suffix, 'string') || !optional(r.t, 'number'))
    return undefined
  if (!allValues(r.files, isCount) || !allValues(r.seqs, isRanges) || !allValues(r.final, (x) => typeof x === 'string')) return undefined
  if (!(r.closed === undefined || (Array.isArray(r.closed) && r.closed.every((x) => typeof x === 'string')))) return undefined
  return r as unknown as Record_
}

// The snapshot, checked; a few words saying what is wrong when it is damaged.
const readSnapshot = (bytes: Buffer): Snapshot | string => {
  let snap: unknown
  try {
    snap = JSON.parse(bytes.toString('utf8'))
  } catch {
    return bytes.length === 0 ? 'empty' : 'not valid JSON'
  }
  if (!isObject(snap) || !isCount(snap.c) || !isObject(snap.files) || !isObject(snap.streams))
    return 'not in the expected shape (c, files, streams)'
  const fileOk = (e: unknown): boolean =>
    isObject(e) && isCount(e.len) && typeof e.stem === 'string' && typeof e.suffix === 'string' && optional(e.final, 'string')
  if (!Object.values(snap.files).every(fileOk)) return 'not in the expected shape (a file entry)'
  if (!Object.values(snap.streams).every((st) => isObject(st) && isRanges(st.r) && typeof st.s === 'number'))
    return 'not in the expected shape (a stream entry)'
  return snap as unknown as Snapshot
}

// An in-progress file known only by its name: "<stem><suffix>.tmp" (or an earlier version's
// hidden ".<stem><suffix>.inprogress"); the suffix cannot be told from the stem, the whole is kept.
const entryFromName = (rel: string): FileEntry => {
  const slash = rel.lastIndexOf('/') + 1
  let name = rel.slice(slash)
  if (name.endsWith(IN_PROGRESS)) name = name.slice(0, -IN_PROGRESS.length)
  else if (name.startsWith('.') && name.endsWith(LEGACY_IN_PROGRESS)) name = name.slice(1, -LEGACY_IN_PROGRESS.length)
  return { len: 0, stem: rel.slice(0, slash) + name, suffix: '' }
}

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

  constructor(
    private readonly storage: RollStorage,
    private readonly horizon: number,
  ) {}

  // Files in progress whose committed length may be larger than the state says: a damaged record
  // after their last intact one may have committed more of them. Recovery keeps their bytes.
  readonly uncertain = new Set<string>()

  // Loads the snapshot and replays the log after it. A damaged record is skipped and every intact
  // one after it still applies (lengths are absolute). The files a damaged record may have touched
  // keep all their bytes (a line written twice rather than an acked line lost); its seq ranges are
  // lost. Only a torn end (no newline: an append cut short by a crash, never acked) is cut off. A
  // damaged snapshot stops the start with the file named: without it the files in progress and the
  // dedupe state are unknown.
  async load(): Promise<void> {
    const snapshotName = this.storage.describe(`${STATE_DIR}/state.json`)
    const snapshotBytes = await this.storage.readSnapshot()
    let since = 0
    if (snapshotBytes) {
      const snap = readSnapshot(snapshotBytes)
      if (typeof snap === 'string')
        throw new TsfError(`${snapshotName}: roll's state snapshot is ${snap} (move it away to start without dedupe state)`)
      since = this.commit = snap.c
      for (const [rel, entry] of Object.entries(snap.files)) this.files.set(rel, entry)
      for (const [src, st] of Object.entries(snap.streams)) this.streams.set(src, { ranges: new RangeSet(st.r), seen: st.s })
    }
    const logName = this.storage.describe(`${STATE_DIR}/commits.log`)
    const logBytes = (await this.storage.readLog()) ?? Buffer.alloc(0)
    let goodEnd = 0 // the end of the last intact record
    let damaged = 0
    let lastDamaged = -1 // index of the last damaged record
    let middle = 0 // damaged records with an intact one after them
    let trailing = 0 // damaged records after the last intact one
    const lastTouched = new Map<string, number>() // file → index of the last intact record naming it
    let at = 0
    for (let index = 0; at < logBytes.length; index++) {
      const nl = logBytes.indexOf(10, at)
      if (nl === -1) break
      const record = readRecord(logBytes.toString('utf8', at, nl))
      at = nl + 1
      if (!record) {
        damaged++
        trailing++
        lastDamaged = index
        continue
      }
      middle += trailing
      trailing = 0
      if (record.c > since) this.apply(record)
      if (record.open !== undefined) lastTouched.set(record.open, index)
      for (const rel of Object.keys(record.files ?? {})) lastTouched.set(rel, index)
      goodEnd = at
    }
    for (const rel of this.files.keys()) if ((lastTouched.get(rel) ?? -1) < lastDamaged) this.uncertain.add(rel)
    const torn = logBytes.length - at
    if (damaged > 0) {
      const kept = this.uncertain.size
        ? `; ${this.uncertain.size} file${this.uncertain.size === 1 ? '' : 's'} in progress keep all their bytes (some lines may be written twice, none lost)`
        : ''
      warn(
        `${logName}: skipped ${damaged} damaged record${damaged === 1 ? '' : 's'} of roll's commit log, applied every intact one${kept}; the dedupe ranges of what was skipped are lost`,
      )
    }
    if (torn > 0) info(`${logName}: cut an incomplete last record of ${torn} bytes (a commit cut short by a crash, never acked)`)
    // damaged records at the end are cut with the torn end; those before an intact record stay
    // in the log until the snapshot below replaces it
    this.log = await this.storage.openLog(middle > 0 ? at : goodEnd)
    if (middle > 0)
      await this.compact().catch((error) => warn(`could not compact roll's state (retried later): ${describeSystemError(error)}`))
  }

  private apply(record: Record_): void {
    this.commit = record.c
    if (record.open !== undefined) this.files.set(record.open, { len: 0, stem: record.stem ?? record.open, suffix: record.suffix ?? '' })
    for (const [rel, len] of Object.entries(record.files ?? {})) {
      let entry = this.files.get(rel)
      // its "open" record was lost (damaged): the name still says what the file is
      if (!entry) this.files.set(rel, (entry = entryFromName(rel)))
      entry.len = len
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
