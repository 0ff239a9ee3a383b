import type { DirLock } from '../../core/dir-lock.js'
import { JsonStateStore, openStateStore, type StateFileKind } from '../state/json-store.js'
import { fsyncDir } from '../state/state-dir.js'

// The state of one `tsf spool`: a persistent agent id and one entry per adopted file that is
// not finished yet (renamed or deleted), in the state dir's one JSON store (../state/json-store.ts).
// The entry of a file is saved before its first event, its progress after acks, and it is removed
// once the file is done.

export interface SpoolEntry {
  // where the file was adopted (headers.file)
  path: string
  // what it was when adopted: a change of any of these means "modified after pickup"
  dev: number
  ino: number
  size: number
  mtimeMs: number
  headHash: string
  // the stream id of this file, and the last seq and offset the downstream made durable
  src: string
  seq: number
  pos: number
}

// Every field of an entry, checked when the file is loaded (../state/entry-shape.ts).
const ENTRY_SHAPE = {
  path: 'string',
  dev: 'number',
  ino: 'number',
  size: 'count',
  mtimeMs: 'number',
  headHash: 'string',
  src: 'string',
  seq: 'count',
  pos: 'count',
} as const

const KIND: StateFileKind = {
  file: 'spool.json',
  who: 'tsf spool',
  holds: 'the spool state',
  is: 'a tsf spool state file',
  shape: ENTRY_SHAPE,
}

export class SpoolState extends JsonStateStore<SpoolEntry> {
  readonly entries = new Map<string, SpoolEntry>()
  // directories in which files were renamed since the last save: fsynced before the state
  private readonly touchedDirs = new Set<string>()
  // entries set since the last save
  private readonly unsaved = new Set<SpoolEntry>()

  private constructor(dir: string, interval: number, lock: DirLock) {
    super(dir, KIND, interval, lock)
    for (const f of this.loadEntries()) this.entries.set(f.path, f)
  }

  static open(dir: string, interval = 200): Promise<SpoolState> {
    return openStateStore(dir, KIND, (lock) => new SpoolState(dir, interval, lock))
  }

  set(entry: SpoolEntry): void {
    this.entries.set(entry.path, entry)
    this.unsaved.add(entry)
    this.markDirty()
  }

  // Is this entry (its src) on disk yet? Its first event must wait until it is.
  isSaved(entry: SpoolEntry): boolean {
    return !this.unsaved.has(entry)
  }

  delete(path: string): void {
    if (this.entries.delete(path)) this.markDirty()
  }

  // A rename happened in this directory: make it durable before the state that relies on it.
  touched(dir: string): void {
    this.touchedDirs.add(dir)
    this.markDirty()
  }

  protected snapshot(): SpoolEntry[] {
    return [...this.entries.values()]
  }

  protected override write(): void {
    for (const dir of this.touchedDirs) fsyncDir(dir)
    this.touchedDirs.clear()
    super.write()
    this.unsaved.clear()
  }
}
