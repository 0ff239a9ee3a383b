import { describeSystemError } from '../../core/errors.js'
import { info, warn } from '../../core/log.js'
import type { Counters } from '../../core/metrics.js'
import { encodeChunk } from './format.js'
import { fileNames, type Bucket } from './layout.js'
import type { OpenFile } from './open-file.js'
import { publishFile } from './publish.js'
import type { RollerOptions } from './roller.js'
import { endsAtCut, sliceForFiles, type Staged } from './staged.js'
import type { RollState } from './state.js'

// The files in progress: a commit's writes into them, the rolls that are due (--interval, --size,
// --count, --idle, --max-open) and the publishing of full files under their final names.
export class RollFiles {
  readonly open = new Map<string, OpenFile>()
  // final names taken by files in progress
  private readonly claimed = new Set<string>()
  // files being published; kept until that succeeds (a failure is retried at the next maintain)
  private readonly retiring = new Set<OpenFile>()

  constructor(
    private readonly options: RollerOptions,
    private readonly state: RollState,
    private readonly counters: Counters,
  ) {}

  // Writes a staged group into its buckets' files (opening, and filling up to --count/--size, as
  // needed), makes it durable, and records the commit in the state; on a failure nothing of it
  // stays in a file. Full files are published by the maintenance that follows.
  async commit(staged: Staged): Promise<void> {
    const { count, size, gzip } = this.options
    // open every file first: making room (--max-open) must not close a file this commit writes to
    const firsts = new Map<string, OpenFile>()
    for (const { bucket } of staged.buckets.values())
      firsts.set(bucket.key, this.open.get(bucket.key) ?? (await this.openFile(bucket, staged)))
    const writes: { file: OpenFile; len: number; raw: number; events: number; midLine: boolean }[] = []
    const filled: OpenFile[] = []
    const opened: OpenFile[] = []
    try {
      for (const entry of staged.buckets.values()) {
        let file = firsts.get(entry.bucket.key)!
        for (const slice of sliceForFiles(entry, file, { count, size })) {
          const data = await encodeChunk(slice.parts, slice.bytes, gzip)
          // a full file ends at a cut; the bucket's last file ends wherever its staged bytes do
          const midLine = !slice.fills && !endsAtCut(entry)
          writes.push({ file, len: file.len + data.length, raw: file.raw + slice.bytes, events: slice.events, midLine })
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
      w.file.midLine = w.midLine
      w.file.lastWrite = now
    }
    // full files are published by the maintenance that follows every commit
    for (const f of filled) this.retiring.add(f)
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
      midLine: false,
      openedAt: opened,
      lastWrite: opened,
    }
    this.open.set(bucket.key, open)
    this.claimed.add(names.final)
    return open
  }

  // Rolls files that are due, between commits. A file whose committed bytes end inside a cut line
  // is not rolled by size, count or interval: the staged group may already hold the line's end,
  // but the file on storage does not until that group commits.
  async maintain(): Promise<void> {
    for (const f of [...this.retiring]) await this.retire(f)
    const { interval, size, count, idle } = this.options
    const now = Date.now()
    for (const f of [...this.open.values()]) {
      if (f.len === 0) continue
      const due =
        (!f.midLine && ((size && f.raw >= size) || (count && f.events >= count) || (interval && now - f.openedAt >= interval))) ||
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

  async finaliseAll(why?: string): Promise<void> {
    const n = this.open.size
    for (const f of [...this.open.values()]) await this.finalise(f)
    for (const f of [...this.retiring]) await this.retire(f)
    if (why && n) info(`${why}: closed ${n} file${n === 1 ? '' : 's'}`)
  }

  // Closes every file without publishing (the next start finishes them).
  async closeAll(): Promise<void> {
    for (const f of [...this.open.values(), ...this.retiring]) await f.file.close().catch(() => undefined)
  }
}
