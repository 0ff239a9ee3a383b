import { hostname } from 'node:os'
import { TsfError } from '../../core/errors.js'
import { WebHdfs, WebHdfsError } from '../hdfs/webhdfs.js'
import { STATE_DIR, type PublishResult, type RollFile, type RollStorage, type StateLog } from './storage.js'

// Roll's storage on HDFS, through WebHDFS (no Java at run time). Each APPEND opens, writes and
// closes the file on the DataNode, so what an APPEND acknowledged is durable and visible: sync()
// has nothing left to do. Cutting back to the last commit is TRUNCATE; publishing is RENAME, which
// never replaces an existing file. The client retries safe mode, lease conflicts, NameNode
// restarts and 5xx answers with backoff, and never appends twice (expectedLength).

const join = (root: string, rel: string): string => (root === '/' ? `/${rel}` : `${root}/${rel}`)

class HdfsFile implements RollFile {
  constructor(
    readonly rel: string,
    private readonly client: WebHdfs,
    private readonly path: string,
    private size = 0,
  ) {}

  async append(parts: Buffer[]): Promise<void> {
    const data = parts.length === 1 ? parts[0]! : Buffer.concat(parts)
    if (data.length === 0) return
    this.size = await this.client.append(this.path, data, { expectedLength: this.size })
  }

  async sync(): Promise<void> {
    // an acknowledged APPEND is already closed on the DataNode
  }

  async truncate(length: number): Promise<void> {
    await this.client.truncate(this.path, length)
    this.size = length
  }

  async close(): Promise<void> {}
}

class HdfsLog implements StateLog {
  constructor(
    private readonly client: WebHdfs,
    private readonly path: string,
    public size: number,
  ) {}

  async append(record: Buffer): Promise<void> {
    try {
      this.size = await this.client.append(this.path, record, { expectedLength: this.size })
    } catch (error) {
      // never leave a torn record in the middle of the log
      await this.client.truncate(this.path, this.size).catch(() => undefined)
      throw error
    }
  }

  async reset(): Promise<void> {
    await this.client.truncate(this.path, 0)
    this.size = 0
  }

  async close(): Promise<void> {}
}

export class HdfsStorage implements RollStorage {
  private readonly stateDir: string

  constructor(
    private readonly client: WebHdfs,
    readonly root: string,
  ) {
    this.stateDir = join(root, STATE_DIR)
  }

  get where(): string {
    return `${this.client.base}${this.root}`
  }

  describe(rel: string): string {
    return `hdfs ${join(this.root, rel)}`
  }

  private abs(rel: string): string {
    return join(this.root, rel)
  }

  // HDFS has no pids to check: the lock names host and pid; a lock of this host whose process is
  // gone is stale and taken over; another host's lock must be removed by hand.
  async lock(): Promise<void> {
    await this.client.mkdirs(this.stateDir)
    const lock = `${this.stateDir}/lock`
    const me = `${hostname()} ${process.pid}\n`
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        await this.client.create(lock, me)
        return
      } catch (error) {
        if (!(error instanceof WebHdfsError) || error.exception !== 'FileAlreadyExistsException') throw error
        const [host, pidText] = (await this.client.open(lock).catch(() => Buffer.from(''))).toString().trim().split(' ')
        const pid = Number(pidText)
        if (host !== hostname())
          throw new TsfError(`${this.where}: locked by a tsf roll on ${host} (pid ${pidText}); remove ${lock} if that roll is gone`)
        if (pid && pid !== process.pid && isAlive(pid))
          throw new TsfError(`${this.where}: another tsf roll (pid ${pid}) is writing into this directory`)
        await this.client.delete(lock)
      }
    }
    throw new TsfError(`${this.where}: could not take ${lock}`)
  }

  async unlock(): Promise<void> {
    await this.client.delete(`${this.stateDir}/lock`).catch(() => undefined)
    this.client.close()
  }

  async create(rel: string): Promise<RollFile> {
    const path = this.abs(rel)
    await this.client.create(path, Buffer.alloc(0))
    return new HdfsFile(rel, this.client, path)
  }

  async length(rel: string): Promise<number | undefined> {
    const status = await this.client.status(this.abs(rel))
    return status ? status.length : undefined
  }

  async truncate(rel: string, length: number): Promise<void> {
    await this.client.truncate(this.abs(rel), length)
  }

  async exists(rel: string): Promise<boolean> {
    return (await this.client.status(this.abs(rel))) !== null
  }

  async publish(from: string, to: string): Promise<PublishResult> {
    if (await this.client.rename(this.abs(from), this.abs(to))) return 'done'
    const [src, dst] = await Promise.all([this.exists(from), this.exists(to)])
    if (!src && dst) return 'done' // an earlier attempt did it
    if (dst) return 'exists'
    throw new TsfError(`${this.describe(from)}: RENAME to ${this.abs(to)} refused by the NameNode`)
  }

  async remove(rel: string): Promise<void> {
    await this.client.delete(this.abs(rel))
  }

  private async read(path: string): Promise<Buffer | undefined> {
    try {
      return await this.client.open(path)
    } catch (error) {
      if (error instanceof WebHdfsError && error.exception === 'FileNotFoundException') return undefined
      throw error
    }
  }

  // A snapshot is replaced by delete + rename (RENAME never replaces): between the two only the
  // new one, still named .tmp, exists, and it is read from there.
  async readSnapshot(): Promise<Buffer | undefined> {
    return (await this.read(`${this.stateDir}/state.json`)) ?? (await this.read(`${this.stateDir}/state.json.tmp`))
  }

  async writeSnapshot(data: Buffer): Promise<void> {
    const tmp = `${this.stateDir}/state.json.tmp`
    await this.client.create(tmp, data, { overwrite: true })
    await this.client.delete(`${this.stateDir}/state.json`)
    if (!(await this.client.rename(tmp, `${this.stateDir}/state.json`)))
      throw new TsfError(`${this.where}: could not replace ${this.stateDir}/state.json`)
  }

  async readLog(): Promise<Buffer | undefined> {
    return this.read(`${this.stateDir}/commits.log`)
  }

  async openLog(length: number): Promise<StateLog> {
    const path = `${this.stateDir}/commits.log`
    const status = await this.client.status(path)
    if (!status) await this.client.create(path, Buffer.alloc(0))
    else if (status.length !== length) await this.client.truncate(path, length)
    return new HdfsLog(this.client, path, length)
  }
}

const isAlive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
