import { closeSync, existsSync, fstatSync, openSync } from 'node:fs'
import { describeSystemError } from '../../core/errors.js'
import { warnOnce } from '../../core/log.js'
import { readAt } from '../../core/read-at.js'
import { FINGERPRINT_BYTES, hashBytes, sameInode } from '../file/identity.js'
import type { Job, SpoolFiles } from './files.js'
import { quarantine } from './finish.js'
import { isSettled, listCandidates, orderCandidates, type Candidate, type ListRules } from './listing.js'
import type { SpoolEntry } from './state.js'

// the first bytes of a file: a NUL among them means binary
const SNIFF_BYTES = 8192
// files adopted (and their srcs saved) together
const ADOPT_GROUP = 64

// Which file is read next: the files resumed after a restart first, then the settled files of
// each listing in the configured order, adopted in groups just before they are read (so the
// state holds only the files in flight).
export class Selector {
  private readonly queue: (Job | Candidate)[] = []
  private readonly rules: ListRules

  constructor(private readonly files: SpoolFiles) {
    const { config } = files
    this.rules = {
      ignore: config.ignore,
      // skipped with --delete too: switching to it must not ingest the files renamed before
      doneSuffix: config.doneSuffix,
      recurse: config.recurse,
      skip: new Set([config.stateDir, config.quarantineDir]),
    }
  }

  get empty(): boolean {
    return this.queue.length === 0
  }

  // candidates listed and not adopted yet
  get waiting(): number {
    return this.queue.filter((q) => !('entry' in q)).length
  }

  // a file resumed after a restart (recover.ts): read before anything listed
  resume(job: Job): void {
    this.queue.push(job)
  }

  // The next file to read, adopting the next group of candidates when its turn comes; undefined
  // when the queue is empty (every candidate may have been rejected: quarantined, gone, changed).
  next(): Job | undefined {
    while (this.queue.length) {
      if (!('entry' in this.queue[0]!)) this.adoptGroup()
      const next = this.queue.shift()
      if (next && 'entry' in next) return next
    }
    return undefined
  }

  // Lists the directory; settled files not known yet are queued, in the configured order.
  scan(first: boolean): void {
    const { files } = this
    const { config } = files
    const found = listCandidates(config.dir, this.rules, (path, e) =>
      warnOnce(`dir:${path}`, `${path}: ${describeSystemError(e).replace(`${path}: `, '')} (skipped; said once)`),
    )
    if (first && config.once) files.pendingOnce = new Set(found.map((c) => c.path).filter((p) => !files.active.has(p)))
    const pending = files.pendingOnce
    const now = Date.now()
    const ready: Candidate[] = []
    const present = new Set<string>()
    for (const c of found) {
      present.add(c.path)
      if (files.active.has(c.path)) continue
      if (pending && !pending.has(c.path)) continue // --once: files that came later wait for the next run
      if (files.skipped(c.path, c.st)) continue
      if (isSettled(c.st, config.settle, now)) ready.push(c)
    }
    if (pending) for (const p of pending) if (!present.has(p) || files.isStuck(p)) pending.delete(p)
    // (--once: a candidate leaves pendingOnce when it is adopted or quarantined, so one that
    // changed again before adoption is looked at again)
    for (const c of orderCandidates(ready, config.order)) this.queue.push(c)
  }

  // Adopts the next candidates together, so that one save (two fsyncs) makes all their srcs
  // durable instead of one save per small file.
  private adoptGroup(): void {
    const jobs: Job[] = []
    while (jobs.length < ADOPT_GROUP && this.queue.length && !('entry' in this.queue[0]!)) {
      const job = this.adopt(this.queue.shift() as Candidate)
      if (job) jobs.push(job)
    }
    this.queue.unshift(...jobs)
  }

  // Looks at a settled file once before taking it: readable, not binary, its name not reused.
  private adopt(c: Candidate): Job | undefined {
    const { files } = this
    const { config, state } = files
    const { path } = c
    if (!config.deleteDone && existsSync(path + config.doneSuffix)) {
      quarantine(files, path, `name reused: ${path + config.doneSuffix} already exists (a file of that name was ingested before)`, c.st)
      return undefined
    }
    let fd: number
    try {
      fd = openSync(path, 'r')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined // gone since the listing: nothing to do
      quarantine(files, path, `cannot be read: ${describeSystemError(e).replace(`${path}: `, '')}`, c.st)
      return undefined
    }
    try {
      const st = fstatSync(fd)
      // changed since the listing: it is looked at again once it settled again
      if (!sameInode(st, c.st) || st.size !== c.st.size || st.mtimeMs !== c.st.mtimeMs) return undefined
      const sniff = readAt(fd, 0, Math.min(SNIFF_BYTES, st.size))
      const nul = sniff.indexOf(0)
      if (nul !== -1) {
        quarantine(files, path, `looks binary (a NUL byte at offset ${nul})`, st)
        return undefined
      }
      const entry: SpoolEntry = {
        path,
        dev: st.dev,
        ino: st.ino,
        size: st.size,
        mtimeMs: st.mtimeMs,
        // the fingerprint that tells, after a restart, that the file at the path is still this one
        headHash: hashBytes(sniff.subarray(0, FINGERPRINT_BYTES)),
        src: state.newSrc(),
        seq: 0,
        pos: 0,
      }
      state.set(entry)
      files.pendingOnce?.delete(path)
      return files.track(path, entry)
    } catch (e) {
      quarantine(files, path, `cannot be read: ${describeSystemError(e).replace(`${path}: `, '')}`, c.st)
      return undefined
    } finally {
      closeSync(fd)
    }
  }
}
