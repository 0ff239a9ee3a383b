import type { Stats } from 'node:fs'
import type { CheckpointStore, FileEntry } from './checkpoint-store.js'
import { FileTail, type ReadConfig } from './file-tail.js'
import { identityOf, markAt } from '../file/identity.js'

export const inodeKey = (st: { dev: number; ino: number }): string => `${st.dev}:${st.ino}`

// The files tail follows (by inode and by watched path), the ones with something to read on the
// next turn, and the generations (checkpoint entries) they read: a generation that is over is
// released (never looked for again) once its events are durable.
export class TailFiles {
  readonly tails = new Set<FileTail>()
  readonly byInode = new Map<string, FileTail>()
  readonly byPath = new Map<string, FileTail>()
  // files to read on the next turn
  readonly wake = new Set<FileTail>()
  // events written but not yet durable, per file generation
  private readonly inflight = new Map<FileEntry, number>()
  // generations that are over (truncated, rotated away): released once their events are durable
  readonly retiring = new Set<FileEntry>()

  constructor(
    readonly store: CheckpointStore,
    private readonly read: ReadConfig,
  ) {}

  newEntry(fd: number, st: Stats, head: Buffer, path: string, lastPath: string, pos: number): FileEntry {
    const entry: FileEntry = { ...identityOf(st, head), ...markAt(fd, pos), src: this.store.newSrc(), seq: 0, pos, path, lastPath }
    this.store.add(entry)
    return entry
  }

  add(fd: number, st: Stats, entry: FileEntry, path: string, head?: Buffer): FileTail {
    const t = new FileTail(fd, entry, path, this.read, head)
    t.size = entry.pos
    this.tails.add(t)
    this.byInode.set(inodeKey(st), t)
    this.byPath.set(path, t)
    this.wake.add(t)
    return t
  }

  forget(t: FileTail): void {
    t.close()
    this.tails.delete(t)
    this.wake.delete(t)
    for (const [k, v] of this.byInode) if (v === t) this.byInode.delete(k)
    if (this.byPath.get(t.path) === t) this.byPath.delete(t.path)
  }

  // A generation is over: it is released (never looked for again) once its events are durable.
  retire(entry: FileEntry): void {
    if (this.inflight.get(entry)) this.retiring.add(entry)
    else entry.released = Date.now()
    this.store.markDirty()
  }

  // A group of the generation's events was written.
  writing(entry: FileEntry): void {
    this.inflight.set(entry, (this.inflight.get(entry) ?? 0) + 1)
  }

  // A group of the generation's events became durable: a retiring generation with none left is released.
  durable(entry: FileEntry): void {
    const left = (this.inflight.get(entry) ?? 1) - 1
    if (left > 0) this.inflight.set(entry, left)
    else {
      this.inflight.delete(entry)
      if (this.retiring.delete(entry)) entry.released = Date.now()
    }
  }

  // events of this generation written and not yet durable
  inflightOf(entry: FileEntry): boolean {
    return Boolean(this.inflight.get(entry))
  }
}
