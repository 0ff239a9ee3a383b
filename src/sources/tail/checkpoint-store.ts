import { randomBytes } from 'node:crypto'
import { readFileSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import { describeSystemError, TsfError } from '../../core/errors.js'
import { GroupedSave } from '../state/grouped-save.js'
import { agentIdOf, atomicWrite, lockStateDir } from '../state/state-dir.js'
import type { FileIdentity } from './identity.js'

// The checkpoints of one `tsf tail`: one entry per adopted file generation, keyed by identity
// (never by path), written atomically (tmp, fsync, rename, fsync of the directory).

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

interface StateFile {
  version: 1
  files: FileEntry[]
}

// Released entries are kept a while so a rotated file matched again by a glob is not re-read.
const KEEP_RELEASED = 4096

export class CheckpointStore {
  readonly entries = new Set<FileEntry>()
  readonly agent: string
  private readonly statePath: string
  private readonly lockPath: string
  private readonly saver: GroupedSave
  // a save from the timer failed (disk full, read-only): the engine stops on it
  onError?: (error: unknown) => void

  private constructor(readonly dir: string, interval: number) {
    this.saver = new GroupedSave(interval, () => this.write(), (e) => this.onError?.(e))
    this.statePath = join(dir, 'checkpoints.json')
    this.lockPath = join(dir, 'lock')
    lockStateDir(dir, 'tsf tail')
    this.agent = agentIdOf(dir)
    this.load()
  }

  static open(dir: string, interval = 200): CheckpointStore {
    return new CheckpointStore(dir, interval)
  }

  // A new stream id: the persistent agent id (cloned servers get their own once their state
  // dir is fresh) plus a random part, so two generations of one file never share a src.
  newSrc(): string {
    return `${this.agent}.${randomBytes(9).toString('base64url')}`
  }

  add(entry: FileEntry): void {
    this.entries.add(entry)
    this.markDirty()
  }

  delete(entry: FileEntry): void {
    if (this.entries.delete(entry)) this.markDirty()
  }

  // Something changed: save soon (saves are grouped, one fsync covers many acks).
  markDirty(): void {
    this.saver.markDirty()
  }

  // Save now if anything changed (before the first event of a new src is emitted, at exit).
  save(): void {
    this.saver.saveNow()
  }

  private write(): void {
    this.prune()
    const state: StateFile = { version: 1, files: [...this.entries] }
    atomicWrite(this.statePath, JSON.stringify(state))
  }

  close(): void {
    this.saver.close()
    try {
      unlinkSync(this.lockPath)
    } catch {
      // already gone
    }
  }

  private prune(): void {
    const released = [...this.entries].filter((e) => e.released).sort((a, b) => a.released! - b.released!)
    for (let i = 0; i < released.length - KEEP_RELEASED; i++) this.entries.delete(released[i]!)
  }

  private load(): void {
    let text: string
    try {
      text = readFileSync(this.statePath, 'utf8')
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return
      throw new TsfError(`${this.statePath}: cannot read the checkpoints: ${describeSystemError(e)}`)
    }
    let state: StateFile
    try {
      state = JSON.parse(text) as StateFile
      if (state.version !== 1 || !Array.isArray(state.files)) throw new Error('unknown format')
    } catch {
      // written atomically, so this is not a torn write: refuse rather than re-read everything
      throw new TsfError(`${this.statePath}: not a tsf tail checkpoint file (remove it to start over)`)
    }
    for (const f of state.files) this.entries.add(f)
  }
}

