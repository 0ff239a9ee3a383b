// A small WebHDFS client: the HDFS operations `tsf roll hdfs://...` needs, with retries that are
// safe for writes. Protocol notes and the quirks met on a real Hadoop 3.3.6 are in docs/hdfs.md.
//
// Transport: node:http/node:https, not Node's global fetch. undici (behind fetch) rejects every
// DataNode write with UND_ERR_SOCKET "bad response": the DataNode's Netty server answers a PUT/POST
// with an unsolicited "HTTP/1.1 100 Continue" before the real 201/200, which node:http accepts
// (it emits 'information'). node:http also gives a keep-alive agent to the NameNode for free.
//
// Two-step writes: CREATE and APPEND first ask the NameNode (with noredirect=true; a 307 with a
// Location header from older servers is understood too), then send the data to the DataNode it
// names. Following the redirect automatically would send the data to the NameNode first, or, worse,
// an empty body to the DataNode.
//
// Retries (exponential backoff with jitter, bounded by maxRetryMs and an AbortSignal) cover what a
// NameNode restart, safe mode, a DataNode still registering, or lease recovery look like:
// connection refused/reset, timeouts, HTTP 500, SafeModeException, RetriableException,
// StandbyException, AlreadyBeingCreatedException, RecoveryInProgressException,
// LeaseExpiredException, NotReplicatedYetException, "could only be written to 0 of the 1
// minReplication nodes", "Failed to find datanode". Never: FileNotFound, permission, FileAlreadyExists,
// other 4xx.
//
// Idempotency under retries (a response may be lost after the server did the work):
// - append(path, data, { expectedLength }) never appends twice: before retrying an attempt that
//   may have reached the DataNode, it reads the file's length: expected + data.length means the
//   lost attempt did succeed (done); expected means nothing was written (retry); anything else is a
//   WebHdfsError 'AppendLengthMismatch' (part of the data, or someone else's, is there: the caller
//   truncates back to expectedLength and appends again). Without expectedLength, append reads the
//   length first (one extra GETFILESTATUS).
// - create(..., { overwrite: false }) retried after a lost response finds the file there: when its
//   length and content are exactly `data`, that was our write (done); else FileAlreadyExists.
// - rename() retried after a lost response gets false from the server; if the source is gone and
//   the destination exists, the earlier attempt did it and rename() returns true.
// - delete() retried after a lost response gets false; it returns true when the path is gone.
// - mkdirs, status, list, open, truncate (to the same length), setXAttr (CREATE,REPLACE) and
//   getXAttr are naturally idempotent.
import { backoffDelay } from '../core/backoff.js'
import { pause } from '../core/wait.js'
import { UsageError } from '../core/errors.js'
import { Answers, preview } from './answers.js'
import { detailsOf, mayHaveHappened, WebHdfsError } from './errors.js'
import { abortReason, type Body, bodyLength, Transport, type Response } from './transport.js'
import { normalizePath } from './url.js'

export interface FileStatus {
  accessTime: number
  blockSize: number
  childrenNum: number
  fileId: number
  group: string
  length: number
  modificationTime: number
  owner: string
  // the name inside the listed directory ('' from status())
  pathSuffix: string
  permission: string
  replication: number
  storagePolicy?: number
  type: 'FILE' | 'DIRECTORY' | 'SYMLINK'
}

export interface WebHdfsOptions {
  // Cancels waits and requests; an aborted call rejects with the signal's reason.
  signal?: AbortSignal
  // How long one call keeps retrying retriable failures, from its first attempt. Default 120 s:
  // longer than HDFS's 60 s lease soft limit, after which a stuck writer's lease can be recovered.
  maxRetryMs?: number
  // Backoff: first delay, cap (each delay is base * 2^n, then a random 50-100% of it). 200 ms, 2 s.
  initialBackoffMs?: number
  maxBackoffMs?: number
  // A request with no response progress for this long is abandoned (and retried). Default 30 s.
  requestTimeoutMs?: number
  // Called before each retry, e.g. to log it.
  onRetry?: (info: RetryInfo) => void
}

export interface RetryInfo {
  op: string
  path: string
  attempt: number
  delayMs: number
  error: WebHdfsError
}

export interface CallOptions {
  signal?: AbortSignal
}

export class WebHdfs {
  readonly base: string
  readonly user: string
  private readonly namenode: string
  private readonly opts: Required<Omit<WebHdfsOptions, 'signal' | 'onRetry'>> & Pick<WebHdfsOptions, 'signal' | 'onRetry'>
  private readonly answers: Answers
  private readonly transport: Transport

  /** base: the NameNode's WebHDFS URL, e.g. 'http://nn:9870'; user: sent as user.name (simple auth). */
  constructor(base: string, user: string, options: WebHdfsOptions = {}) {
    let u: URL
    try {
      u = new URL(base)
    } catch {
      throw new UsageError(`WebHDFS: expected a base URL such as http://namenode:9870, got '${base}'`)
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') {
      throw new UsageError(`WebHDFS: expected a base URL such as http://namenode:9870, got '${base}'`)
    }
    if (!user) throw new UsageError('WebHDFS: a user name is required (sent as user.name)')
    this.base = `${u.protocol}//${u.host}`
    this.namenode = u.host
    this.user = user
    this.opts = {
      maxRetryMs: options.maxRetryMs ?? 120_000,
      initialBackoffMs: options.initialBackoffMs ?? 200,
      maxBackoffMs: options.maxBackoffMs ?? 2_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      signal: options.signal,
      onRetry: options.onRetry,
    }
    this.answers = new Answers(this.namenode)
    this.transport = new Transport(this.opts.requestTimeoutMs, this.answers)
  }

  /** Closes idle keep-alive connections. The client stays usable (new connections are made). */
  close(): void {
    this.transport.close()
  }

  // ---- operations ----

  /** MKDIRS: creates the directory and its parents; true when it exists afterwards. */
  async mkdirs(path: string, options: CallOptions & { permission?: string } = {}): Promise<boolean> {
    const p = this.checkPath(path)
    const extra: Record<string, string> = options.permission ? { permission: options.permission } : {}
    return this.retry('MKDIRS', p, options, async (sig) => {
      const r = await this.nn(sig, 'PUT', 'MKDIRS', p, extra)
      return this.answers.booleanOf(r, { op: 'MKDIRS', path: p })
    })
  }

  /**
   * CREATE in two steps (NameNode, then DataNode). With overwrite false (the default) an existing
   * file is an error (FileAlreadyExistsException), except when a retry finds exactly `data` there
   * (see the header comment). Parents are created as needed.
   */
  async create(
    path: string,
    data: Buffer | Uint8Array | string,
    options: CallOptions & { overwrite?: boolean; permission?: string } = {},
  ): Promise<void> {
    const p = this.checkPath(path)
    const body = asBuffer(data)
    const overwrite = options.overwrite ?? false
    const params: Record<string, string> = { overwrite: String(overwrite) }
    if (options.permission) params.permission = options.permission
    let sent = false
    await this.retry('CREATE', p, options, async (sig) => {
      if (sent && !overwrite) {
        const st = await this.statusOnce(sig, p)
        if (st && st.type === 'FILE' && st.length === body.length && (await this.openOnce(sig, p)).equals(body)) return
      }
      const loc = await this.location(sig, 'PUT', 'CREATE', p, params)
      sent = true
      const r = await this.transport.request(sig, 'PUT', loc, body)
      if (r.status !== 201 && r.status !== 200) throw this.answers.errorOf(r, { op: 'CREATE', path: p, datanode: hostOf(loc) })
    })
  }

  /**
   * APPEND in two steps. expectedLength is the file's length before this append; a retry never
   * appends twice (see the header comment). Without it the length is read first. Resolves to the
   * new length (expectedLength + data.length).
   */
  async append(path: string, data: AppendData, options: CallOptions & { expectedLength?: number } = {}): Promise<number> {
    const p = this.checkPath(path)
    const body = asBody(data)
    const length = bodyLength(body)
    let expected = options.expectedLength
    let sent = false
    await this.retry('APPEND', p, options, async (sig) => {
      if (expected === undefined) {
        const st = await this.statusOnce(sig, p)
        if (!st) throw this.answers.fail('APPEND', p, 404, 'FileNotFoundException', `File does not exist: ${p}`)
        expected = st.length
      } else if (sent) {
        const st = await this.statusOnce(sig, p)
        const now = st?.length
        if (now === expected + length) return
        if (now !== expected) {
          throw this.answers.fail(
            'APPEND',
            p,
            undefined,
            'AppendLengthMismatch',
            `after an append whose answer was lost the file is ${now === undefined ? 'gone' : `${now} bytes`}; ` +
              `expected ${expected} (not applied) or ${expected + length} (applied). ` +
              `Truncate it back to ${expected} and append again`,
          )
        }
      }
      const loc = await this.location(sig, 'POST', 'APPEND', p, {})
      sent = true
      const r = await this.transport.request(sig, 'POST', loc, body)
      if (r.status !== 200) throw this.answers.errorOf(r, { op: 'APPEND', path: p, datanode: hostOf(loc) })
    })
    return expected! + length
  }

  /**
   * RENAME: false when the server refuses without an exception (destination exists, source
   * missing, destination's parent missing). Never replaces an existing destination file.
   */
  async rename(src: string, dst: string, options: CallOptions = {}): Promise<boolean> {
    const s = this.checkPath(src)
    const d = this.checkPath(dst)
    let uncertain = false
    return this.retry('RENAME', s, options, async (sig, previous) => {
      uncertain ||= mayHaveHappened(previous)
      const r = await this.nn(sig, 'PUT', 'RENAME', s, { destination: d })
      const ok = this.answers.booleanOf(r, { op: 'RENAME', path: s })
      if (ok || !uncertain) return ok
      // A retry after a lost answer: an earlier attempt may have done it.
      return (await this.statusOnce(sig, s)) === null && (await this.statusOnce(sig, d)) !== null
    })
  }

  /**
   * TRUNCATE to newLength. Resolves true when the server truncated at once (newLength on a block
   * boundary, or the same length); false when it had to start block recovery: then this waits
   * (bounded by truncateWaitMs, default maxRetryMs) until the NameNode reports the new length,
   * which is when recovery has closed the file. An APPEND right after may still meet
   * RecoveryInProgressException for a moment; append() retries it.
   */
  async truncate(path: string, newLength: number, options: CallOptions & { truncateWaitMs?: number } = {}): Promise<boolean> {
    const p = this.checkPath(path)
    if (!Number.isSafeInteger(newLength) || newLength < 0) {
      throw new UsageError(`WebHDFS TRUNCATE ${p}: newLength must be a whole number >= 0, got ${newLength}`)
    }
    const done = await this.retry('TRUNCATE', p, options, async (sig) => {
      const r = await this.nn(sig, 'POST', 'TRUNCATE', p, { newlength: String(newLength) })
      return this.answers.booleanOf(r, { op: 'TRUNCATE', path: p })
    })
    if (done) return true
    const waitMs = options.truncateWaitMs ?? this.opts.maxRetryMs
    const until = Date.now() + waitMs
    let delay = 50
    let last: number | undefined
    for (;;) {
      const st = await this.status(p, options)
      last = st?.length
      if (st === null)
        throw this.answers.fail(
          'TRUNCATE',
          p,
          404,
          'FileNotFoundException',
          `File does not exist: ${p} (while waiting for truncate recovery)`,
        )
      if (st.length === newLength) return false
      if (Date.now() + delay > until) break
      await this.sleep(delay, this.signalFor(options))
      delay = Math.min(delay * 2, 1000)
    }
    throw this.answers.fail(
      'TRUNCATE',
      p,
      undefined,
      'TruncateTimeout',
      `block recovery did not finish within ${waitMs} ms: length is still ${last}, waiting for ${newLength}`,
    )
  }

  /** GETFILESTATUS; null when the path does not exist. */
  async status(path: string, options: CallOptions = {}): Promise<FileStatus | null> {
    const p = this.checkPath(path)
    return this.retry('GETFILESTATUS', p, options, (sig) => this.statusOnce(sig, p))
  }

  /** DELETE: true when the path is gone afterwards because of this call (or a lost earlier attempt of it). */
  async delete(path: string, recursive = false, options: CallOptions = {}): Promise<boolean> {
    const p = this.checkPath(path)
    let uncertain = false
    return this.retry('DELETE', p, options, async (sig, previous) => {
      uncertain ||= mayHaveHappened(previous)
      const r = await this.nn(sig, 'DELETE', 'DELETE', p, { recursive: String(recursive) })
      const ok = this.answers.booleanOf(r, { op: 'DELETE', path: p })
      if (ok || !uncertain) return ok
      return (await this.statusOnce(sig, p)) === null
    })
  }

  /**
   * SETXATTR with flag CREATE,REPLACE: sets (or replaces) one extended attribute, e.g.
   * 'user.tsf.commits'. A NameNode-only operation, written to the edit log before the answer, so
   * durable like a RENAME, and without the DataNode's close of an APPEND. Idempotent: a retry after a
   * lost answer sets the same value again. The value goes base64-encoded in the URL; HDFS refuses
   * name + value above dfs.namenode.fs-limits.max-xattr-size (16384 by default) with a 400.
   */
  async setXAttr(path: string, name: string, value: Buffer, options: CallOptions = {}): Promise<void> {
    const p = this.checkPath(path)
    const params = { 'xattr.name': name, 'xattr.value': `0s${value.toString('base64')}`, flag: 'CREATE,REPLACE' }
    await this.retry('SETXATTR', p, options, async (sig) => {
      const r = await this.nn(sig, 'PUT', 'SETXATTR', p, params)
      if (r.status !== 200) throw this.answers.errorOf(r, { op: 'SETXATTR', path: p })
    })
  }

  /** GETXATTRS: the value of one extended attribute, null when the file has none of that name. */
  async getXAttr(path: string, name: string, options: CallOptions = {}): Promise<Buffer | null> {
    const p = this.checkPath(path)
    return this.retry('GETXATTRS', p, options, async (sig) => {
      // without xattr.name: a missing attribute is an empty list, not an error
      const r = await this.nn(sig, 'GET', 'GETXATTRS', p, { encoding: 'base64' })
      if (r.status !== 200) throw this.answers.errorOf(r, { op: 'GETXATTRS', path: p })
      const j = this.answers.json(r, { op: 'GETXATTRS', path: p }) as { XAttrs?: { name?: string; value?: string | null }[] }
      const found = (j.XAttrs ?? []).find((x) => x.name === name)
      if (!found) return null
      const v = found.value ?? ''
      if (v !== '' && !v.startsWith('0s'))
        throw this.answers.fail('GETXATTRS', p, r.status, 'BadResponse', `expected a base64 value (0s...), got ${preview(Buffer.from(v))}`)
      return Buffer.from(v.slice(2), 'base64')
    })
  }

  /** LISTSTATUS: the entries of a directory (a file lists itself, with pathSuffix ''). */
  async list(path: string, options: CallOptions = {}): Promise<FileStatus[]> {
    const p = this.checkPath(path)
    return this.retry('LISTSTATUS', p, options, async (sig) => {
      const r = await this.nn(sig, 'GET', 'LISTSTATUS', p, {})
      if (r.status !== 200) throw this.answers.errorOf(r, { op: 'LISTSTATUS', path: p })
      const j = this.answers.json(r, { op: 'LISTSTATUS', path: p }) as { FileStatuses?: { FileStatus?: FileStatus[] } }
      return j.FileStatuses?.FileStatus ?? []
    })
  }

  /** OPEN: the whole file (for tests and recovery; not for big files). */
  async open(path: string, options: CallOptions = {}): Promise<Buffer> {
    const p = this.checkPath(path)
    return this.retry('OPEN', p, options, (sig) => this.openOnce(sig, p))
  }

  // ---- single attempts ----

  private async statusOnce(signal: AbortSignal | undefined, p: string): Promise<FileStatus | null> {
    const r = await this.nn(signal, 'GET', 'GETFILESTATUS', p, {})
    if (r.status === 404) {
      const e = this.answers.errorOf(r, { op: 'GETFILESTATUS', path: p })
      if (e.exception === 'FileNotFoundException') return null
      throw e
    }
    if (r.status !== 200) throw this.answers.errorOf(r, { op: 'GETFILESTATUS', path: p })
    const j = this.answers.json(r, { op: 'GETFILESTATUS', path: p }) as { FileStatus?: FileStatus }
    if (!j.FileStatus) throw this.answers.fail('GETFILESTATUS', p, r.status, 'BadResponse', 'no FileStatus in the answer')
    return j.FileStatus
  }

  private async openOnce(signal: AbortSignal | undefined, p: string): Promise<Buffer> {
    const loc = await this.location(signal, 'GET', 'OPEN', p, {})
    const r = await this.transport.request(signal, 'GET', loc)
    if (r.status !== 200) throw this.answers.errorOf(r, { op: 'OPEN', path: p, datanode: hostOf(loc) })
    return r.body
  }

  // Step one of CREATE/APPEND/OPEN: the DataNode URL to send the data to (or read it from).
  private async location(
    signal: AbortSignal | undefined,
    method: string,
    op: string,
    p: string,
    params: Record<string, string>,
  ): Promise<string> {
    const r = await this.nn(signal, method, op, p, { ...params, noredirect: 'true' })
    let loc: string | undefined
    if (r.status === 307 || r.status === 302 || r.status === 303) {
      loc = typeof r.headers.location === 'string' ? r.headers.location : undefined
    } else if (r.status === 200) {
      loc = (this.answers.json(r, { op, path: p }) as { Location?: string }).Location
    } else {
      throw this.answers.errorOf(r, { op, path: p })
    }
    if (!loc) throw this.answers.fail(op, p, r.status, 'BadResponse', 'the NameNode named no DataNode (no Location)')
    return loc
  }

  private nn(signal: AbortSignal | undefined, method: string, op: string, p: string, params: Record<string, string>): Promise<Response> {
    const q = Object.entries({ op, 'user.name': this.user, ...params })
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
      .join('&')
    return this.transport.request(signal, method, `${this.base}/webhdfs/v1${encodePath(p)}?${q}`, undefined, { op, path: p })
  }

  // ---- retry loop ----

  // Runs attempt until it succeeds, fails for good, or maxRetryMs/the signal says stop; each
  // attempt is told the previous attempt's error.
  private async retry<T>(
    op: string,
    p: string,
    options: CallOptions,
    attempt: (signal: AbortSignal | undefined, previous: WebHdfsError | undefined) => Promise<T>,
  ): Promise<T> {
    const signal = this.signalFor(options)
    const started = Date.now()
    let n = 0
    let previous: WebHdfsError | undefined
    for (;;) {
      if (signal?.aborted) throw abortReason(signal)
      try {
        return await attempt(signal, previous)
      } catch (e) {
        if (!(e instanceof WebHdfsError)) throw e
        previous = e
        n++
        e.attempts = n
        if (!e.retriable) throw e
        const delay = backoffDelay(n, { initial: this.opts.initialBackoffMs, max: this.opts.maxBackoffMs, jitter: 0.5 })
        if (Date.now() - started + delay > this.opts.maxRetryMs) {
          const last = new WebHdfsError({
            ...detailsOf(e),
            remoteMessage: `${e.remoteMessage} (gave up after ${n} attempts in ${Date.now() - started} ms)`,
            cause: e,
          })
          last.attempts = n
          throw last
        }
        this.opts.onRetry?.({ op, path: p, attempt: n, delayMs: delay, error: e })
        await this.sleep(delay, signal)
      }
    }
  }

  // The client's signal and the call's, as one.
  private signalFor(options: CallOptions): AbortSignal | undefined {
    const signals = [this.opts.signal, options.signal].filter((s): s is AbortSignal => s !== undefined)
    return signals.length <= 1 ? signals[0] : AbortSignal.any(signals)
  }

  private async sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
    await pause(ms, signal)
    if (signal?.aborted) throw abortReason(signal)
  }

  private checkPath(path: string): string {
    if (typeof path !== 'string' || !path.startsWith('/')) {
      throw new UsageError(`WebHDFS: paths must be absolute, got '${path}'`)
    }
    return normalizePath(path)
  }
}

const asBuffer = (data: Buffer | Uint8Array | string): Buffer =>
  typeof data === 'string'
    ? Buffer.from(data, 'utf8')
    : Buffer.isBuffer(data)
      ? data
      : Buffer.from(data.buffer, data.byteOffset, data.byteLength)

// What append() takes. Several buffers are sent one after the other, never joined: a commit of
// tens of MiB is not copied once more (memory and CPU).
export type AppendData = Buffer | Uint8Array | string | readonly Buffer[]

const asBody = (data: AppendData): Body => (Array.isArray(data) ? data : asBuffer(data as Buffer | Uint8Array | string))

const encodePath = (p: string): string => p.split('/').map(encodeURIComponent).join('/')

const hostOf = (url: string): string => {
  try {
    return new URL(url).host
  } catch {
    return url
  }
}
