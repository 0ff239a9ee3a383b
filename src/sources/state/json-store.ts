import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { DirLock } from '../../core/dir-lock.js'
import { describeSystemError, TsfError } from '../../core/errors.js'
import { checkEntries, type FieldKind } from './entry-shape.js'
import { GroupedSave } from './grouped-save.js'
import { agentIdOf, atomicWrite, lockStateDir } from './state-dir.js'

// The one JSON state store of the file sources (tail's checkpoints, spool's state): the state dir
// locked for this process (openStateStore), its agent id, one file `{"version":1,"files":[...]}` written atomically
// (tmp, fsync, rename, fsync of the directory), saves grouped in time, and a file that is not
// ours refused rather than guessed at (it is never torn, so a bad one was not written by us).

export interface StateFileKind {
  // the file's name in the state dir (checkpoints.json)
  file: string
  // the command, in the refusal of a locked dir ("tsf tail")
  who: string
  // what the file holds, in a read error ("the checkpoints")
  holds: string
  // what the file should have been, in a refusal ("a tsf tail checkpoint file")
  is: string
  // each entry's fields and their kinds, checked on load (./entry-shape.ts)
  shape: Record<string, FieldKind>
}

interface StateFile<Entry> {
  version: 1
  files: Entry[]
}

// Locks the state dir, then opens a store in it (`make` calls the subclass's constructor with the
// lock); a store that refuses its file lets the lock go.
export const openStateStore = async <S>(dir: string, kind: StateFileKind, make: (lock: DirLock) => S): Promise<S> => {
  const lock = await lockStateDir(dir, kind.who)
  try {
    return make(lock)
  } catch (error) {
    lock.release()
    throw error
  }
}

export abstract class JsonStateStore<Entry> {
  readonly agent: string
  // a save from the timer failed (disk full, read-only): the engine stops on it
  onError?: (error: unknown) => void
  private readonly statePath: string
  private readonly saver: GroupedSave

  protected constructor(
    readonly dir: string,
    private readonly kind: StateFileKind,
    interval: number,
    private readonly lock: DirLock,
  ) {
    this.saver = new GroupedSave(
      interval,
      () => this.write(),
      (e) => this.onError?.(e),
    )
    this.statePath = join(dir, kind.file)
    this.agent = agentIdOf(dir)
  }

  // What a save writes (called on each save).
  protected abstract snapshot(): Entry[]

  // A new stream id: the persistent agent id (cloned servers get their own once their state
  // dir is fresh) plus a random part, so two files (or generations of one) never share a src.
  newSrc(): string {
    return `${this.agent}.${randomBytes(9).toString('base64url')}`
  }

  // Something changed: save soon (saves are grouped, one fsync covers many acks).
  markDirty(): void {
    this.saver.markDirty()
  }

  // Save now if anything changed (before the first event of a new src is emitted, at exit).
  save(): void {
    this.saver.saveNow()
  }

  // A last save, then the lock goes (also when the save fails: the process is ending).
  close(): void {
    try {
      this.saver.close()
    } finally {
      this.lock.release()
    }
  }

  protected write(): void {
    const state: StateFile<Entry> = { version: 1, files: this.snapshot() }
    atomicWrite(this.statePath, JSON.stringify(state))
  }

  // The entries on disk (none on a first run); the subclass's constructor calls it once its own
  // fields exist.
  protected loadEntries(): Entry[] {
    let text: string
    try {
      text = readFileSync(this.statePath, 'utf8')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return []
      throw new TsfError(`${this.statePath}: cannot read ${this.kind.holds}: ${describeSystemError(e)}`)
    }
    let state: StateFile<Entry>
    try {
      state = JSON.parse(text) as StateFile<Entry>
      if (state.version !== 1 || !Array.isArray(state.files)) throw new Error('unknown format')
    } catch {
      // written atomically, so this is not a torn write: refuse rather than re-read everything
      throw new TsfError(`${this.statePath}: not ${this.kind.is} (remove it to start over)`)
    }
    checkEntries(this.statePath, state.files, this.kind.shape, this.kind.is)
    return state.files
  }
}
