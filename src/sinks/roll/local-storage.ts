import { constants } from 'node:fs'
import { link, open, readFile, rename, stat, truncate, unlink, type FileHandle } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { type DirLock, lockDir, pidNote } from '../../core/dir-lock.js'
import { TsfError } from '../../core/errors.js'
import { STATE_DIR, type PublishResult, type RollFile, type RollStorage, type StateLog } from './storage.js'
import { makeDirs } from '../../core/make-dirs.js'

// Roll's storage on a local filesystem. Durability: data is fdatasync'ed, every new directory
// entry (created file, created directory, rename, link) is made durable by fsyncing its directory.

const isCode = (error: unknown, code: string): boolean => (error as NodeJS.ErrnoException)?.code === code

const syncDir = async (dir: string): Promise<void> => {
  const fh = await open(dir, constants.O_RDONLY | constants.O_DIRECTORY)
  try {
    await fh.sync()
  } finally {
    await fh.close()
  }
}

class LocalFile implements RollFile {
  // Writes go to explicit positions: after a failed (partial) write and a truncate, the fd's own
  // offset would still point past the end and the next write would leave a hole of NUL bytes.
  private size = 0

  constructor(
    readonly rel: string,
    private readonly fh: FileHandle,
  ) {}

  // One writev for all the parts; a short write (rare: a signal, a nearly full disk) goes on
  // with what is left.
  async append(parts: Buffer[]): Promise<void> {
    let rest = parts
    let left = 0
    for (const p of parts) left += p.length
    while (left > 0) {
      const { bytesWritten } = await this.fh.writev(rest, this.size)
      this.size += bytesWritten
      left -= bytesWritten
      if (left > 0) rest = dropBytes(rest, bytesWritten)
    }
  }

  async sync(): Promise<void> {
    await this.fh.datasync()
  }

  async truncate(length: number): Promise<void> {
    await this.fh.truncate(length)
    await this.fh.datasync()
    this.size = length
  }

  async close(): Promise<void> {
    await this.fh.close()
  }
}

// The parts after the first n bytes.
const dropBytes = (parts: Buffer[], n: number): Buffer[] => {
  const out: Buffer[] = []
  for (const p of parts) {
    if (n >= p.length) {
      n -= p.length
      continue
    }
    out.push(n ? p.subarray(n) : p)
    n = 0
  }
  return out
}

class LocalLog implements StateLog {
  constructor(
    private readonly fh: FileHandle,
    public size: number,
  ) {}

  async append(record: Buffer): Promise<void> {
    try {
      let off = 0
      while (off < record.length) {
        const { bytesWritten } = await this.fh.write(record, off, record.length - off, this.size + off)
        off += bytesWritten
      }
      await this.fh.datasync()
      this.size += record.length
    } catch (error) {
      // never leave a torn record in the middle of the log: later records would be unreachable
      await this.fh.truncate(this.size).catch(() => undefined)
      throw error
    }
  }

  async reset(): Promise<void> {
    await this.fh.truncate(0)
    await this.fh.datasync()
    this.size = 0
  }

  async close(): Promise<void> {
    await this.fh.close()
  }
}

export class LocalStorage implements RollStorage {
  private readonly stateDir: string
  private held?: DirLock

  constructor(readonly root: string) {
    this.stateDir = join(root, STATE_DIR)
  }

  get where(): string {
    return this.root
  }

  describe(rel: string): string {
    return join(this.root, rel)
  }

  private abs(rel: string): string {
    return join(this.root, rel)
  }

  // mkdir -p, then make each created directory's entry durable.
  private async mkdirs(dir: string): Promise<void> {
    const first = await makeDirs(dir)
    if (first === undefined) return
    let d = dir
    const parents: string[] = []
    while (d.length >= first.length) {
      parents.push(dirname(d))
      if (d === first) break
      d = dirname(d)
    }
    for (const p of parents) await syncDir(p)
  }

  // core's one lock, on the root: one roll per root, never a stale lock after kill -9.
  async lock(): Promise<void> {
    await this.mkdirs(this.stateDir)
    this.held = await lockDir(
      this.root,
      { kind: 'roll' },
      (pid) => `${this.root}: another tsf roll${pidNote(pid)} is writing into this directory`,
    )
    // the pid file that earlier versions locked the root with: it locks nothing now
    await unlink(join(this.stateDir, 'lock')).catch(() => undefined)
  }

  async unlock(): Promise<void> {
    this.held?.release()
    this.held = undefined
  }

  async create(rel: string): Promise<RollFile> {
    const path = this.abs(rel)
    await this.mkdirs(dirname(path))
    const fh = await open(path, 'wx')
    try {
      await syncDir(dirname(path))
    } catch (error) {
      await fh.close()
      throw error
    }
    return new LocalFile(rel, fh)
  }

  async length(rel: string): Promise<number | undefined> {
    try {
      return (await stat(this.abs(rel))).size
    } catch (error) {
      if (isCode(error, 'ENOENT')) return undefined
      throw error
    }
  }

  async truncate(rel: string, length: number): Promise<void> {
    await truncate(this.abs(rel), length)
    const fh = await open(this.abs(rel), 'r+')
    try {
      await fh.datasync()
    } finally {
      await fh.close()
    }
  }

  async exists(rel: string): Promise<boolean> {
    return (await this.length(rel)) !== undefined
  }

  // link(2) fails instead of replacing an existing name (rename(2) would replace it); the unlink
  // right after it finishes the move (both names are visible only for that instant), then one
  // fsync of the directory makes both durable. A crash between the two leaves both names on one
  // inode, which the next attempt recognises and finishes.
  async publish(from: string, to: string): Promise<PublishResult> {
    const src = this.abs(from)
    const dst = this.abs(to)
    const fromStat = await stat(src).catch((error) => {
      if (isCode(error, 'ENOENT')) return undefined
      throw error
    })
    if (!fromStat) {
      if (await this.exists(to)) return 'done'
      throw new TsfError(`${src}: in-progress file vanished before it was published as ${dst}`)
    }
    await this.mkdirs(dirname(dst))
    try {
      await link(src, dst)
    } catch (error) {
      if (!isCode(error, 'EEXIST')) throw error
      const toStat = await stat(dst)
      if (toStat.ino !== fromStat.ino || toStat.dev !== fromStat.dev) return 'exists'
    }
    await unlink(src)
    await syncDir(dirname(dst))
    if (dirname(src) !== dirname(dst)) await syncDir(dirname(src))
    return 'done'
  }

  async remove(rel: string): Promise<void> {
    await unlink(this.abs(rel)).catch((error) => {
      if (!isCode(error, 'ENOENT')) throw error
    })
  }

  async readSnapshot(): Promise<Buffer | undefined> {
    return readFile(join(this.stateDir, 'state.json')).catch((error) => {
      if (isCode(error, 'ENOENT')) return undefined
      throw error
    })
  }

  async writeSnapshot(data: Buffer): Promise<void> {
    const tmp = join(this.stateDir, 'state.json.tmp')
    const fh = await open(tmp, 'w')
    try {
      await fh.writeFile(data)
      await fh.datasync()
    } finally {
      await fh.close()
    }
    await rename(tmp, join(this.stateDir, 'state.json'))
    await syncDir(this.stateDir)
  }

  async readLog(): Promise<Buffer | undefined> {
    return readFile(join(this.stateDir, 'commits.log')).catch((error) => {
      if (isCode(error, 'ENOENT')) return undefined
      throw error
    })
  }

  async openLog(length: number): Promise<StateLog> {
    await this.mkdirs(this.stateDir)
    const path = join(this.stateDir, 'commits.log')
    const fh = await open(path, constants.O_RDWR | constants.O_CREAT)
    await fh.truncate(length)
    await fh.datasync()
    await syncDir(this.stateDir)
    return new LocalLog(fh, length)
  }
}
