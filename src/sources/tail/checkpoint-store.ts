import type { DirLock } from '../../core/dir-lock.js'
import { JsonStateStore, openStateStore, type StateFileKind } from '../state/json-store.js'
import type { FileIdentity } from '../file/identity.js'

// The checkpoints of one `tsf tail`: one entry per adopted file generation, keyed by identity
// (never by path), in the state dir's one JSON store (../state/json-store.ts).

export interface FileEntry extends FileIdentity {
  // the stream id of this file generation (agent id + random), recorded before its first event
  src: string
  // the last seq and the offset just past the last event the downstream made durable
  seq: number
  pos: number
  // a hash of the bytes just before pos, or before markEnd when set (see identity.ts Marked)
  markLen: number
  markHash: string
  markEnd?: number
  // where the file was adopted (headers.file) and where it was last seen (to find it again)
  path: string
  lastPath: string
  // read to its end and acked after it was rotated away or deleted: nothing more to read
  released?: number
  // offsets past the checkpoint where an event was ended by time rather than by the bytes (an
  // unterminated last line emitted at end of file, a multi-line event flushed by its timeout):
  // after a restart the same events must end there again, or a sink deduping on (src, seq)
  // would drop a longer version of one of them
  cuts?: number[]
}

// Every field of an entry, checked when the file is loaded (../state/entry-shape.ts).
const ENTRY_SHAPE = {
  dev: 'number',
  ino: 'number',
  headLen: 'count',
  headHash: 'string',
  src: 'string',
  seq: 'count',
  pos: 'count',
  markLen: 'count',
  markHash: 'string',
  path: 'string',
  lastPath: 'string',
  released: 'count?',
  cuts: 'counts?',
} as const

// Released entries are kept a while so a rotated file matched again by a glob is not re-read.
const KEEP_RELEASED = 4096

const KIND: StateFileKind = {
  file: 'checkpoints.json',
  who: 'tsf tail',
  holds: 'the checkpoints',
  is: 'a tsf tail checkpoint file',
  shape: ENTRY_SHAPE,
}

export class CheckpointStore extends JsonStateStore<FileEntry> {
  readonly entries = new Set<FileEntry>()

  private constructor(dir: string, interval: number, lock: DirLock) {
    super(dir, KIND, interval, lock)
    for (const f of this.loadEntries()) this.entries.add(f)
  }

  static open(dir: string, interval = 200): Promise<CheckpointStore> {
    return openStateStore(dir, KIND, (lock) => new CheckpointStore(dir, interval, lock))
  }

  add(entry: FileEntry): void {
    this.entries.add(entry)
    this.markDirty()
  }

  delete(entry: FileEntry): void {
    if (this.entries.delete(entry)) this.markDirty()
  }

  protected snapshot(): FileEntry[] {
    this.prune()
    return [...this.entries]
  }

  private prune(): void {
    const released = [...this.entries].filter((e) => e.released).sort((a, b) => a.released! - b.released!)
    for (let i = 0; i < released.length - KEEP_RELEASED; i++) this.entries.delete(released[i]!)
  }
}
