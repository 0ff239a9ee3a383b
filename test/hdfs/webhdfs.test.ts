// WebHdfs against a REAL HDFS (scripts/servers/hdfs.mjs: Hadoop 3.3.6 NameNode + DataNode).
// Needs TSF_TEST_WEBHDFS (npm test sets it); without it the server tests skip loudly, or fail
// under CI=true. hdfs:// URLs are tested in url.test.ts.
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import t from 'tap'
import type { Test } from 'tap'
import { WebHdfsError } from '../../src/hdfs/errors.js'
import { WebHdfs, type RetryInfo } from '../../src/hdfs/webhdfs.js'
import { uniqueName, webhdfsUrl } from '../fixtures/servers.js'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const OUR_SERVER = 'http://127.0.0.1:19870'

t.test('constructor and path checks are usage errors', async (t) => {
  t.throws(() => new WebHdfs('nn:9870', 'tsf'), /expected a base URL such as http:\/\/namenode:9870/)
  t.throws(() => new WebHdfs('ftp://nn', 'tsf'), /expected a base URL such as http:\/\/namenode:9870, got 'ftp:\/\/nn'/)
  t.throws(() => new WebHdfs('http://nn:9870', ''), /user name is required/)
  const c = new WebHdfs('http://127.0.0.1:1', 'tsf')
  await t.rejects(c.status('relative/path'), /paths must be absolute/)
})

t.test('connection refused: retried with backoff until maxRetryMs, then one clear line', async (t) => {
  const retries: RetryInfo[] = []
  const c = new WebHdfs('http://127.0.0.1:1', 'tsf', { maxRetryMs: 700, initialBackoffMs: 50, onRetry: (i) => retries.push(i) })
  const e = await c.mkdirs('/x').then(
    () => null,
    (err: unknown) => err,
  )
  t.ok(e instanceof WebHdfsError, 'a WebHdfsError')
  const err = e as WebHdfsError
  t.equal(err.exception, 'ECONNREFUSED')
  t.equal(err.status, undefined)
  t.match(
    err.message,
    /^WebHDFS MKDIRS \/x on NameNode 127\.0\.0\.1:1: ECONNREFUSED: connection refused \(gave up after \d+ attempts in \d+ ms\)$/,
  )
  t.ok(retries.length >= 3, `retried ${retries.length} times`)
  t.ok(
    retries.every((r, i) => i === 0 || r.delayMs >= retries[i - 1]!.delayMs / 2),
    'delays grow (with jitter)',
  )
  const waited = retries.reduce((sum, r) => sum + r.delayMs, 0)
  t.ok(waited <= 700, `the back-offs (${waited} ms in all) stay within maxRetryMs`)
})

t.test('an AbortSignal ends the retries at once', async (t) => {
  const ac = new AbortController()
  const c = new WebHdfs('http://127.0.0.1:1', 'tsf', { maxRetryMs: 60_000, initialBackoffMs: 100 })
  setTimeout(() => ac.abort(new Error('shutting down')), 300)
  // without the abort this would retry for 60 s and fail with ECONNREFUSED: the abort's own reason
  // proves that the retries ended when it came
  await t.rejects(c.status('/x', { signal: ac.signal }), /shutting down/)
})

// ---- against the real server ----

const base = (t: Test): string | undefined => webhdfsUrl(t)
// Skip the rest of a test that has made no assertion yet.
const skip = (t: Test, why: string): void => {
  t.comment(`SKIPPED: ${why}`)
  t.plan(0, why)
}

const client = (url: string, extra: ConstructorParameters<typeof WebHdfs>[2] = {}): WebHdfs =>
  new WebHdfs(url, 'tsf', { maxRetryMs: 60_000, initialBackoffMs: 100, ...extra })

t.test('real HDFS: mkdirs, create, open, status, list', async (t) => {
  const url = base(t)
  if (!url) return
  const c = client(url)
  t.teardown(() => c.close())
  const dir = `/tsf-test/${uniqueName('webhdfs')}`
  t.equal(await c.mkdirs(`${dir}/sub`), true)
  t.equal(await c.mkdirs(`${dir}/sub`), true, 'mkdirs of an existing dir is true')
  const st = await c.status(dir)
  t.equal(st?.type, 'DIRECTORY')
  t.equal(await c.status(`${dir}/nope`), null, 'status of a missing path is null')

  await c.create(`${dir}/a.log`, 'one\ntwo\n')
  t.equal((await c.open(`${dir}/a.log`)).toString(), 'one\ntwo\n')
  const fst = await c.status(`${dir}/a.log`)
  t.equal(fst?.type, 'FILE')
  t.equal(fst?.length, 8)
  t.equal(fst?.permission, '644')

  await c.create(`${dir}/deep/er/empty`, Buffer.alloc(0))
  t.equal((await c.status(`${dir}/deep/er/empty`))?.length, 0, 'create makes parents; empty files work')

  const names = (await c.list(dir)).map((s) => `${s.pathSuffix}:${s.type}`).sort()
  t.same(names, ['a.log:FILE', 'deep:DIRECTORY', 'sub:DIRECTORY'])
  const self = await c.list(`${dir}/a.log`)
  t.equal(self.length, 1)
  t.equal(self[0]!.pathSuffix, '', 'listing a file lists itself')

  const odd = `${dir}/sp ace+plus%pct&amp=eq?q#h/ü.log`
  await c.create(odd, 'x')
  t.equal((await c.open(odd)).toString(), 'x', 'names with space, +, %, &, =, ?, #, non-ASCII round-trip')
  t.same(
    (await c.list(`${dir}/sp ace+plus%pct&amp=eq?q#h`)).map((s) => s.pathSuffix),
    ['ü.log'],
  )
  t.equal(await c.rename(odd, `${dir}/sp ace+plus%pct&amp=eq?q#h/ö ö`), true, 'also as a RENAME destination')
  const bad = await c.create(`${dir}/a:b`, 'x').then(
    () => null,
    (err: unknown) => err,
  )
  t.ok(bad instanceof WebHdfsError, "HDFS refuses ':' in names")
  t.match((bad as WebHdfsError).message, /Invalid path name/)
  t.equal((bad as WebHdfsError).attempts, 1, 'not retried')

  const big = Buffer.alloc(3 * 1024 * 1024 + 17, 'abcdefghij')
  await c.create(`${dir}/big`, big)
  t.ok((await c.open(`${dir}/big`)).equals(big), 'a 3 MiB file spanning blocks (dfs.blocksize is 1 MiB) round-trips')
})

t.test('real HDFS: create without overwrite refuses an existing file; with overwrite replaces it', async (t) => {
  const url = base(t)
  if (!url) return
  const c = client(url)
  t.teardown(() => c.close())
  const f = `/tsf-test/${uniqueName('create')}/f`
  await c.create(f, 'first')
  const e = await c.create(f, 'second').then(
    () => null,
    (err: unknown) => err,
  )
  t.ok(e instanceof WebHdfsError)
  const err = e as WebHdfsError
  t.equal(err.exception, 'FileAlreadyExistsException')
  t.equal(err.status, 403)
  t.equal(err.retriable, false)
  t.equal(err.attempts, 1, 'not retried')
  t.notMatch(err.message, /\n/, 'one line (no Java stack)')
  t.match(
    err.message,
    new RegExp(
      `^WebHDFS CREATE ${f} on NameNode 127\\.0\\.0\\.1:19870 via DataNode [^ ]+: FileAlreadyExistsException \\(HTTP 403\\): .*${f}.*already exists`,
    ),
  )
  t.equal((await c.open(f)).toString(), 'first', 'untouched')
  await c.create(f, 'second', { overwrite: true })
  t.equal((await c.open(f)).toString(), 'second')
})

t.test('real HDFS: append, with and without expectedLength', async (t) => {
  const url = base(t)
  if (!url) return
  const c = client(url)
  t.teardown(() => c.close())
  const f = `/tsf-test/${uniqueName('append')}/f`
  await c.create(f, 'a\n')
  t.equal(await c.append(f, 'b\n', { expectedLength: 2 }), 4)
  t.equal(await c.append(f, Buffer.from('c\n')), 6, 'reads the length itself')
  t.equal(await c.append(f, new Uint8Array([0x64, 0x0a]), { expectedLength: 6 }), 8)
  t.equal(
    await c.append(f, [Buffer.from('e'), Buffer.alloc(0), Buffer.from('\nf\n')], { expectedLength: 8 }),
    12,
    'parts: one APPEND of their sum',
  )
  t.equal((await c.open(f)).toString(), 'a\nb\nc\nd\ne\nf\n', 'parts land in order')
  t.equal((await c.status(f))?.length, 12, 'visible at once after the 200')

  const e = await c.append(`${f}.missing`, 'x', { expectedLength: 0 }).then(
    () => null,
    (err: unknown) => err,
  )
  t.ok(e instanceof WebHdfsError)
  t.equal((e as WebHdfsError).exception, 'FileNotFoundException')
  t.equal((e as WebHdfsError).status, 404)
  t.equal((e as WebHdfsError).attempts, 1)
  t.match(
    (e as WebHdfsError).message,
    new RegExp(`^WebHDFS APPEND ${f}\\.missing on NameNode 127\\.0\\.0\\.1:19870: FileNotFoundException \\(HTTP 404\\): `),
  )
})

t.test('real HDFS: rename returns false rather than replacing or failing', async (t) => {
  const url = base(t)
  if (!url) return
  const c = client(url)
  t.teardown(() => c.close())
  const dir = `/tsf-test/${uniqueName('rename')}`
  await c.create(`${dir}/a`, 'A')
  await c.create(`${dir}/b`, 'B')
  t.equal(await c.rename(`${dir}/a`, `${dir}/b`), false, 'destination exists: false')
  t.equal((await c.open(`${dir}/b`)).toString(), 'B', 'not replaced')
  t.equal(await c.rename(`${dir}/nope`, `${dir}/c`), false, 'source missing: false')
  t.equal(await c.rename(`${dir}/a`, `${dir}/no/such/dir/a`), false, "destination's parent missing: false")
  t.equal(await c.rename(`${dir}/a`, `${dir}/c`), true)
  t.equal(await c.status(`${dir}/a`), null)
  t.equal((await c.open(`${dir}/c`)).toString(), 'A')
})

t.test('real HDFS: truncate at a block boundary is immediate; mid-block waits for recovery', async (t) => {
  const url = base(t)
  if (!url) return
  const c = client(url)
  t.teardown(() => c.close())
  const f = `/tsf-test/${uniqueName('truncate')}/f`
  await c.create(f, 'hello world')
  t.equal(await c.truncate(f, 11), true, 'same length: true')
  const t0 = Date.now()
  t.equal(await c.truncate(f, 5), false, 'mid-block: false (block recovery)')
  t.comment(`mid-block truncate settled after ${Date.now() - t0} ms`)
  t.equal((await c.status(f))?.length, 5)
  t.equal((await c.open(f)).toString(), 'hello')
  t.equal(await c.append(f, '!', { expectedLength: 5 }), 6, 'append right after works (RecoveryInProgress is retried)')
  t.equal((await c.open(f)).toString(), 'hello!')
  t.equal(await c.truncate(f, 0), true, 'to 0 (a block boundary): true')
  t.equal((await c.status(f))?.length, 0)
  const e = await c.truncate(f, 10).then(
    () => null,
    (err: unknown) => err,
  )
  t.ok(e instanceof WebHdfsError, 'growing is refused')
  t.equal((e as WebHdfsError).retriable, false)
  t.comment((e as WebHdfsError).message)
})

t.test('real HDFS: delete', async (t) => {
  const url = base(t)
  if (!url) return
  const c = client(url)
  t.teardown(() => c.close())
  const dir = `/tsf-test/${uniqueName('delete')}`
  await c.create(`${dir}/x/f`, 'f')
  const e = await c.delete(dir).then(
    () => null,
    (err: unknown) => err,
  )
  t.ok(e instanceof WebHdfsError)
  t.equal((e as WebHdfsError).exception, 'PathIsNotEmptyDirectoryException')
  t.equal((e as WebHdfsError).status, 403)
  t.match(
    (e as WebHdfsError).message,
    new RegExp(`^WebHDFS DELETE ${dir} on NameNode 127\\.0\\.0\\.1:19870: PathIsNotEmptyDirectoryException \\(HTTP 403\\): .*is non empty`),
  )
  t.equal(await c.delete(`${dir}/x/f`), true)
  t.equal(await c.delete(`${dir}/x/f`), false, 'already gone: false')
  t.equal(await c.delete(dir, true), true)
  t.equal(await c.status(dir), null)
})

t.test('real HDFS: the RPC port instead of the HTTP port gets a clear message', async (t) => {
  const url = base(t)
  if (!url) return
  if (url !== OUR_SERVER) return skip(t, 'only for scripts/servers/hdfs.mjs (RPC port 19000)')
  const c = new WebHdfs('http://127.0.0.1:19000', 'tsf', { maxRetryMs: 0 })
  t.teardown(() => c.close())
  const e = await c.status('/').then(
    () => null,
    (err: unknown) => err,
  )
  t.ok(e instanceof WebHdfsError)
  t.equal((e as WebHdfsError).exception, 'NotWebHdfs')
  t.match(
    (e as WebHdfsError).message,
    /127\.0\.0\.1:19000 is a Hadoop RPC port, not the WebHDFS HTTP port \(dfs\.namenode\.http-address, default 9870\)/,
  )
})

// ---- lost answers: a proxy that forwards a request, lets the server do it, then drops the answer ----

interface Proxy {
  url: string
  // drop the answer of the next request to the NameNode or a DataNode whose method and op match;
  // run `meanwhile` before dropping
  dropNext(to: 'nn' | 'dn', method: string, op: string, meanwhile?: () => Promise<void>): void
  dropped: number
  close(): Promise<void>
}

const startProxy = async (target: string): Promise<Proxy> => {
  const nn = new URL(target)
  let rule: { to: 'nn' | 'dn'; method: string; op: string; meanwhile?: () => Promise<void> } | null = null
  const proxy: Proxy = {
    url: '',
    dropped: 0,
    dropNext(to, method, op, meanwhile) {
      rule = { to, method, op, ...(meanwhile ? { meanwhile } : {}) }
    },
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      // /__dn/<host:port>/webhdfs/... goes to that DataNode; the rest to the NameNode.
      const m = /^\/__dn\/([^/]+)(\/.*)$/.exec(req.url ?? '')
      const host = m ? m[1]! : nn.host
      const rest = m ? m[2]! : (req.url ?? '/')
      const body = Buffer.concat(chunks)
      const op = new URL(rest, 'http://x').searchParams.get('op')
      const up = http.request(`http://${host}${rest}`, { method: req.method, headers: { 'content-length': body.length } }, (ures) => {
        const uchunks: Buffer[] = []
        ures.on('data', (c: Buffer) => uchunks.push(c))
        ures.on('end', async () => {
          let out = Buffer.concat(uchunks)
          if (!m && ures.statusCode === 200 && out.includes('"Location"')) {
            const j = JSON.parse(out.toString()) as { Location: string }
            const loc = new URL(j.Location)
            j.Location = `${proxy.url}/__dn/${loc.host}${loc.pathname}${loc.search}`
            out = Buffer.from(JSON.stringify(j))
          }
          const r = rule
          if (r && r.to === (m ? 'dn' : 'nn') && r.method === req.method && r.op === op) {
            rule = null
            proxy.dropped++
            if (r.meanwhile) await r.meanwhile()
            req.socket.destroy() // the server did the work; the client never hears of it
            return
          }
          res.writeHead(ures.statusCode ?? 502, { 'content-type': 'application/json', 'content-length': out.length })
          res.end(out)
        })
      })
      up.on('error', () => req.socket.destroy())
      up.end(body)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  proxy.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return proxy
}

t.test('real HDFS: a retried write after a lost answer never duplicates data', async (t) => {
  const url = base(t)
  if (!url) return
  const proxy = await startProxy(url)
  t.teardown(() => proxy.close())
  const retries: RetryInfo[] = []
  const c = client(proxy.url, { onRetry: (i) => retries.push(i) })
  const direct = client(url)
  t.teardown(() => {
    c.close()
    direct.close()
  })
  const dir = `/tsf-test/${uniqueName('lost')}`

  await c.create(`${dir}/f`, 'line 1\n')
  t.equal(proxy.dropped, 0)

  proxy.dropNext('dn', 'POST', 'APPEND')
  t.equal(await c.append(`${dir}/f`, 'line 2\n', { expectedLength: 7 }), 14)
  t.equal(proxy.dropped, 1, 'the DataNode answer of the first APPEND was dropped')
  t.equal(retries.length, 1, 'and the APPEND was retried once')
  t.match(retries[0]!.error.message, /^WebHDFS APPEND .* via DataNode 127\.0\.0\.1:\d+: (ECONNRESET|ESocketHangUp)/)
  t.equal((await direct.open(`${dir}/f`)).toString(), 'line 1\nline 2\n', 'line 2 is there exactly once')

  proxy.dropNext('dn', 'POST', 'APPEND')
  t.equal(await c.append(`${dir}/f`, 'line 3\n'), 21, 'same without expectedLength (read before the first attempt)')
  t.equal((await direct.open(`${dir}/f`)).toString(), 'line 1\nline 2\nline 3\n')

  proxy.dropNext('dn', 'PUT', 'CREATE')
  await c.create(`${dir}/g`, 'only once\n')
  t.equal(proxy.dropped, 3)
  t.equal(
    (await direct.open(`${dir}/g`)).toString(),
    'only once\n',
    'a create whose answer was lost is recognised, not reported as FileAlreadyExists',
  )

  // Someone else writes between the lost attempt and the retry: refuse rather than guess.
  proxy.dropNext('dn', 'POST', 'APPEND', async () => {
    await direct.append(`${dir}/f`, 'intruder\n')
  })
  const e = await c.append(`${dir}/f`, 'line 4\n', { expectedLength: 21 }).then(
    () => null,
    (err: unknown) => err,
  )
  t.ok(e instanceof WebHdfsError)
  t.equal((e as WebHdfsError).exception, 'AppendLengthMismatch')
  t.match(
    (e as WebHdfsError).message,
    /the file is 37 bytes; expected 21 \(not applied\) or 28 \(applied\)\. Truncate it back to 21 and append again$/,
  )
  await c.truncate(`${dir}/f`, 21)
  t.equal((await c.status(`${dir}/f`))?.length, 21, 'the caller can cut back')
  t.equal(await c.append(`${dir}/f`, 'line 4\n', { expectedLength: 21 }), 28)
  t.equal((await direct.open(`${dir}/f`)).toString(), 'line 1\nline 2\nline 3\nline 4\n')

  // RENAME and DELETE answer false when retried after they were done: the client sees through it.
  proxy.dropNext('nn', 'PUT', 'RENAME')
  t.equal(await c.rename(`${dir}/g`, `${dir}/h`), true, 'a rename whose answer was lost is reported done')
  t.equal(proxy.dropped, 5)
  t.equal(await direct.status(`${dir}/g`), null)
  proxy.dropNext('nn', 'DELETE', 'DELETE')
  t.equal(await c.delete(`${dir}/h`), true, 'a delete whose answer was lost is reported done')
  t.equal(proxy.dropped, 6)
  t.equal(await c.rename(`${dir}/g`, `${dir}/h`), false, 'a plain false stays false')
})

t.test('real HDFS: writes ride through a NameNode restart', async (t) => {
  const url = base(t)
  if (!url) return
  if (url !== OUR_SERVER) return skip(t, `TSF_TEST_WEBHDFS is ${url}, not the scripts/servers/hdfs.mjs server this test can restart`)
  const servers = (await import(pathToFileURL(path.join(ROOT, 'scripts', 'servers', 'hdfs.mjs')).href)) as {
    status(): Promise<{ running: boolean }>
    restartNameNode(o?: { downMs?: number; signal?: string }): Promise<{ stopMs: number; readyMs: number }>
  }
  if (!(await servers.status()).running) return skip(t, 'the HDFS at 127.0.0.1:19870 was not started by scripts/servers/hdfs.mjs')

  const retries: RetryInfo[] = []
  const c = client(url, { maxRetryMs: 90_000, onRetry: (i) => retries.push(i) })
  t.teardown(() => c.close())
  const dir = `/tsf-test/${uniqueName('restart')}`
  const f = `${dir}/stream.log`
  await c.create(f, '')

  // An append stream: one line every 50 ms, each with its expected length, until told to stop.
  let length = 0
  const lines: string[] = []
  let stop = false
  let slowest = 0
  const writer = (async () => {
    for (let i = 0; !stop && i < 2000; i++) {
      const line = `event ${i}\n`
      const t0 = Date.now()
      length = await c.append(f, line, { expectedLength: length })
      lines.push(line)
      slowest = Math.max(slowest, Date.now() - t0)
      await new Promise((r) => setTimeout(r, 50))
    }
  })()
  const progress = async (n: number): Promise<void> => {
    const target = lines.length + n
    while (lines.length < target) await new Promise((r) => setTimeout(r, 50))
  }
  await progress(5)

  // 1. kill -9 of the NameNode mid-stream, down 1.5 s.
  const before = lines.length
  const crash = await servers.restartNameNode({ downMs: 1500, signal: 'SIGKILL' })
  t.comment(`NameNode kill -9, down 1.5 s, WebHDFS writes work again ${crash.readyMs} ms after its restart`)
  await progress(5)
  t.comment(`${lines.length - before} appends during and after the crash; slowest append ${slowest} ms`)

  // 2. A graceful restart that also hits a CREATE and a MKDIRS (refused connections, then safe mode).
  const restart = servers.restartNameNode({ downMs: 500 })
  await new Promise((r) => setTimeout(r, 300))
  const created = c.create(`${dir}/during-restart`, 'x\n')
  const made = c.mkdirs(`${dir}/made-during-restart`)
  t.comment(`graceful restart: WebHDFS writes work again ${(await restart).readyMs} ms after its start`)
  await created
  t.equal(await made, true)
  await progress(5)
  stop = true
  await writer
  t.comment(`${lines.length} appends in all; slowest ${slowest} ms`)

  const content = (await c.open(f)).toString()
  t.ok(lines.length >= 15)
  t.equal(content, lines.join(''), `all ${lines.length} appended lines, in order, none twice`)
  t.equal((await c.status(f))?.length, length)
  t.equal((await c.open(`${dir}/during-restart`)).toString(), 'x\n')
  const kinds = [
    ...new Map(
      retries.map((r) => [
        `${r.op} ${r.error.exception}`,
        `${r.op}: ${r.error.exception}${r.error.status ? ` ${r.error.status}` : ''} (${r.error.remoteMessage.slice(0, 100)})`,
      ]),
    ).values(),
  ]
  t.ok(retries.length > 0, 'the outage was seen and retried')
  t.comment(`retried ${retries.length} times; errors seen:\n${kinds.join('\n')}`)
  for (const r of retries.slice(0, 50)) t.notMatch(r.error.message, /\n/, 'each error message is one line')
})
