import { randomBytes } from 'node:crypto'
import { closeSync, fsyncSync, openSync, readFileSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { describeSystemError, TsfError } from '../../core/errors.js'
import { checkEntries } from '../state/entry-shape.js'
import { GroupedSave } from '../state/grouped-save.js'
import { agentIdOf, atomicWrite, lockStateDir } from '../state/state-dir.js'

// The state of one `tsf spool`: a persistent agent id and one entry per adopted file that is
// not finished yet (renamed or deleted). Written atomically; the entry of a file is saved before
// its first event, its progress after acks, and it is removed once the file is done.

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

interface StateFile {
  version: 1
  files: SpoolEntry[]
}

export class SpoolState {
  readonly entries = new Map<string, SpoolEntry>()
  readonly agent: string
  // directories in which files were renamed since the last save: fsynced before the state
  private readonly touchedDirs = new Set<string>()
  // entries set since the last save
  private readonly unsaved = new Set<SpoolEntry>()
  private readonly statePath: string
  private readonly lockPath: string
  private readonly saver: GroupedSave
  // a save from the timer failed (disk full, read-only): the engine stops on it
  onError?: (error: unknown) => void

  constructor(readonly dir: string, interval = 200) {
    this.saver = new GroupedSave(interval, () => this.write(), (e) => this.onError?.(e))
    this.statePath = join(dir, 'spool.json')
    this.lockPath = join(dir, 'lock')
    lockStateDir(dir, 'tsf spool')
    this.agent = agentIdOf(dir)
    this.load()
  }

  newSrc(): string {
    return `${this.agent}.${randomBytes(9).toString('base64url')}`
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

  // Save soon: one save (and one fsync) covers many acks and renames.
  markDirty(): void {
    this.saver.markDirty()
  }

  save(): void {
    this.saver.saveNow()
  }

  private write(): void {
    for (const dir of this.touchedDirs) fsyncDir(dir)
    this.touchedDirs.clear()
    const state: StateFile = { version: 1, files: [...this.entries.values()] }
    atomicWrite(this.statePath, JSON.stringify(state))
    this.unsaved.clear()
  }

  close(): void {
    try {
      this.saver.close()
    } finally {
      try {
        unlinkSync(this.lockPath)
      } catch {
        // already gone
      }
    }
  }

  private load(): void {
    let text: string
    try {
      text = readFileSync(this.statePath, 'utf8')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return
      throw new TsfError(`${this.statePath}: cannot read the spool state: ${describeSystemError(e)}`)
    }
    let state: StateFile
    try {
      state = JSON.parse(text) as StateFile
      if (state.version !== 1 || !Array.isArray(state.files)) throw new Error('unknown format')
    } catch {
      // written atomically, so never torn: refuse rather than guess
      throw new TsfError(`${this.statePath}: not a tsf spool state file (remove it to start over)`)
    }
    checkEntries(this.statePath, state.files, ENTRY_SHAPE, 'tsf spool state file')
    for (const f of state.files) this.entries.set(f.path, f)
  }
}


export const fsyncDir = (dir: string): void => {
  let fd: number | undefined
  try {
    fd = openSync(dir, 'r')
    fsyncSync(fd)
  } catch {
    // the directory is gone or not ours to sync: the rename is as durable as it can be
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}
