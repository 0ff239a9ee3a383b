import { hostname } from 'node:os'
import { describeSystemError, TsfError } from '../../core/errors.js'
import { info } from '../../core/log.js'
import { WebHdfsError } from '../../hdfs/errors.js'
import type { WebHdfs } from '../../hdfs/webhdfs.js'
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
    if (parts.every((part) => part.length === 0)) return
    this.size = await this.client.append(this.path, parts, { expectedLength: this.size })
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

// roll's commit log on HDFS: .tsf-roll/commits.log, whose newest records may be held in the
// extended attribute user.tsf.commits of that file instead of in its bytes. An APPEND opens, writes
// and closes the file on the DataNode, and the close waits ~0.4 s whenever the NameNode has not yet
// heard from the DataNode that the block is complete (its "COMMITTED but not COMPLETE" log line,
// then the DataNode's HDFS client retries completeFile after 400 ms): half of every commit's wait
// when each record was an APPEND. SETXATTR is one NameNode operation (edit log synced before the
// answer, a few ms), so a record is made durable by rewriting the attribute with every record not
// yet in the file; when they outgrow TAIL_MAX they all go into the file with one APPEND.
//
// The attribute holds "<base>\n<records>": records that follow the first <base> bytes of the file.
// Every write leaves a state that reads back as a whole log, whatever a crash cuts short:
//   - the file is exactly <base> bytes, or its bytes after <base> are a beginning of <records> (a
//     flush cut short): the log is the file's first <base> bytes, then <records>;
//   - otherwise (the records were flushed, more may follow; or the file was cut below <base>, so
//     the attribute is stale): the log is the file.
export const LOG_XATTR = 'user.tsf.commits'
const TAIL_MAX = 4096

interface LogParts {
  // the file's bytes, undefined when it does not exist
  file: Buffer | undefined
  // the attribute, undefined when absent (or extended attributes are off)
  tail: { base: number; records: Buffer } | undefined
  // how many of the file's bytes are in the log, and what follows them
  inFile: number
  pending: Buffer
}

const encodeTail = (base: number, records: Buffer): Buffer => Buffer.concat([Buffer.from(`${base}\n`), records])

const decodeTail = (value: Buffer | null): LogParts['tail'] => {
  if (!value || value.length === 0) return undefined
  const nl = value.indexOf(10)
  const base = Number(value.toString('latin1', 0, nl))
  if (nl < 1 || !Number.isSafeInteger(base) || base < 0) return undefined
  return { base, records: value.subarray(nl + 1) }
}

const EMPTY = Buffer.alloc(0)

// Whether SETXATTR is refused for good (extended attributes disabled, no permission, a gateway
// without them): then the log takes one APPEND per record, as before.
const xattrRefused = (error: unknown): boolean =>
  error instanceof WebHdfsError && !error.retriable && error.status !== undefined && error.status >= 400 && error.status < 500

class HdfsLog implements StateLog {
  constructor(
    private readonly client: WebHdfs,
    private readonly path: string,
    // bytes in the file, and the records after them held in the attribute
    private inFile: number,
    private pending: Buffer,
    private xattr: boolean,
  ) {}

  get size(): number {
    return this.inFile + this.pending.length
  }

  async append(record: Buffer): Promise<void> {
    if (this.xattr && this.pending.length + record.length <= TAIL_MAX) {
      const next = Buffer.concat([this.pending, record])
      try {
        await this.client.setXAttr(this.path, LOG_XATTR, encodeTail(this.inFile, next))
        this.pending = next
        return
      } catch (error) {
        if (!xattrRefused(error)) {
          // the record may be in the attribute (a lost answer): put back what it held
          await this.client.setXAttr(this.path, LOG_XATTR, encodeTail(this.inFile, this.pending)).catch(() => undefined)
          throw error
        }
        info(`${this.path}: extended attributes refused (${describeSystemError(error)}): one APPEND per commit record`)
        this.xattr = false
      }
    }
    await this.flush(record)
  }

  // Everything held in the attribute, then `record`, into the file with one APPEND. The attribute
  // is left as it is: the file now extends its records, so it reads as "the log is the file".
  private async flush(record: Buffer): Promise<void> {
    const data = this.pending.length ? Buffer.concat([this.pending, record]) : record
    if (data.length === 0) return
    try {
      this.inFile = await this.client.append(this.path, data, { expectedLength: this.inFile })
      this.pending = EMPTY
    } catch (error) {
      // never leave a torn record in the middle of the log
      await this.client.truncate(this.path, this.inFile).catch(() => undefined)
      throw error
    }
  }

  async reset(): Promise<void> {
    // the attribute first: "0 and nothing" over a longer file reads as the file, then the cut
    if (this.xattr) await this.client.setXAttr(this.path, LOG_XATTR, encodeTail(0, EMPTY))
    await this.client.truncate(this.path, 0)
    this.inFile = 0
    this.pending = EMPTY
  }

  // Moves the records held in the attribute into the file, so that the log is a plain file again
  // (what a tsf that does not know the attribute reads).
  async close(): Promise<void> {
    if (this.pending.length === 0) return
    await this.flush(EMPTY)
    if (this.xattr) await this.client.setXAttr(this.path, LOG_XATTR, encodeTail(this.inFile, EMPTY))
  }
}

export class HdfsStorage implements RollStorage {
  private readonly stateDir: string
  // whether the commit log may keep its newest records in an extended attribute (see HdfsLog)
  private xattr = true

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

  private get logPath(): string {
    return `${this.stateDir}/commits.log`
  }

  // The log's file and attribute, and which part of each is the log (see HdfsLog).
  private async readLogParts(): Promise<LogParts> {
    const file = await this.read(this.logPath)
    if (!file) return { file, tail: undefined, inFile: 0, pending: EMPTY }
    let tail: LogParts['tail']
    try {
      tail = decodeTail(await this.client.getXAttr(this.logPath, LOG_XATTR))
    } catch (error) {
      if (!xattrRefused(error)) throw error
      this.xattr = false
    }
    if (tail && tail.base <= file.length) {
      const after = file.subarray(tail.base)
      if (after.length <= tail.records.length && tail.records.subarray(0, after.length).equals(after))
        return { file, tail, inFile: tail.base, pending: tail.records }
    }
    return { file, tail, inFile: file.length, pending: EMPTY }
  }

  async readLog(): Promise<Buffer | undefined> {
    const { file, inFile, pending } = await this.readLogParts()
    if (!file) return undefined
    return pending.length ? Buffer.concat([file.subarray(0, inFile), pending]) : file
  }

  // Cuts the log to `length` and leaves the file and the attribute saying exactly that: the file
  // first (a crash in between reads back as at least that much: the next start cuts again).
  async openLog(length: number): Promise<StateLog> {
    const path = this.logPath
    const { file, tail, inFile, pending } = await this.readLogParts()
    if (!file) {
      await this.client.create(path, EMPTY)
      return new HdfsLog(this.client, path, 0, EMPTY, this.xattr)
    }
    const keep = Math.min(length, inFile)
    const held = length > inFile ? pending.subarray(0, length - inFile) : EMPTY
    if (file.length !== keep) await this.client.truncate(path, keep)
    if (this.xattr && (tail !== undefined || held.length > 0)) {
      if (!tail || tail.base !== keep || !tail.records.equals(held)) await this.client.setXAttr(path, LOG_XATTR, encodeTail(keep, held))
    }
    return new HdfsLog(this.client, path, keep, Buffer.from(held), this.xattr)
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
