// A real Flume 1.11.0 agent (TAILDIR → file channel → avro sink) sending into
// `tsf collect --flume-avro | tsf roll`: every line arrives with its headers, also across a kill -9
// of the tsf side, with compression-type = deflate and with ssl = true.
import t from 'tap'
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { flumeLib } from '../../fixtures/servers.js'
import { makeTlsFiles, startFlume } from '../../fixtures/flume.js'
import { tmpdir } from '../../fixtures/procs.js'
import { run, tsf, until, type Proc } from '../../fixtures/tcp-helpers.js'

interface Out {
  body: string
  body64?: string
  ts: number
  host?: string
  headers?: Record<string, string>
}

// every event roll wrote (json format), in file order
const rolled = (dir: string): Out[] => {
  if (!existsSync(dir)) return []
  const out: Out[] = []
  // closed files, and the one being written (NAME.tmp)
  const files = readdirSync(dir).filter((f) => /\.ndjson(\.tmp)?$/.test(f))
  for (const f of files.sort((a, b) => a.replace(/^\./, '').localeCompare(b.replace(/^\./, '')))) {
    // the file being written may end in a line roll has not finished writing: only whole lines count
    const lines = readFileSync(join(dir, f), 'utf8').split('\n').slice(0, -1)
    for (const line of lines) if (line) out.push(JSON.parse(line) as Out)
  }
  return out
}

// an agent tailing app.log with Flume's usual decorations: a static header, the file name, the
// timestamp and host interceptors; batches of 100 to the avro sink
const agentConf = (dir: string, port: number, sinkExtra = ''): string => `
a.sources = r1
a.channels = c1
a.sinks = k1
a.sources.r1.type = TAILDIR
a.sources.r1.channels = c1
a.sources.r1.filegroups = f1
a.sources.r1.filegroups.f1 = ${dir}/app.log
a.sources.r1.headers.f1.service = web
a.sources.r1.fileHeader = true
a.sources.r1.positionFile = ${dir}/taildir_position.json
a.sources.r1.interceptors = ts h
a.sources.r1.interceptors.ts.type = timestamp
a.sources.r1.interceptors.h.type = host
a.channels.c1.type = file
a.channels.c1.checkpointDir = ${dir}/fc/checkpoint
a.channels.c1.dataDirs = ${dir}/fc/data
a.sinks.k1.type = avro
a.sinks.k1.channel = c1
a.sinks.k1.hostname = 127.0.0.1
a.sinks.k1.port = ${port}
a.sinks.k1.batch-size = 100
a.sinks.k1.request-timeout = 10000
${sinkExtra}
`

const lineN = (i: number): string => `line ${i} GET /index.html?id=${i} 200`

const startCollect = async (dir: string, port: number, args = ''): Promise<Proc & { port: number }> => {
  const p = run(`exec ${tsf} collect --flume-avro 127.0.0.1:${port} ${args} | ${tsf} roll ${dir}/out --format json --interval 0`, dir)
  const m = await p.waitFor(/flume-avro listening on 127\.0\.0\.1:(\d+)/)
  return Object.assign(p, { port: Number(m[1]) })
}

t.test('Flume agent → tsf collect --flume-avro | tsf roll: lines, exact bytes and headers', async (t) => {
  const lib = flumeLib(t)
  if (!lib) return
  const dir = tmpdir(t)
  const collect = await startCollect(dir, 0)
  t.teardown(() => collect.kill())
  // a non-UTF-8 line and an empty line keep their exact bytes
  writeFileSync(join(dir, 'app.log'), Buffer.concat([Buffer.from('café au lait\n\nlatin1 '), Buffer.from([0xe9, 0x0a])]))
  const n = 600
  appendFileSync(join(dir, 'app.log'), Array.from({ length: n }, (_, i) => lineN(i + 1) + '\n').join(''))
  await startFlume(t, lib, join(dir, 'agent'), 'a', agentConf(dir, collect.port), /Rpc sink k1: Building RpcClient|Rpc sink k1 started/)
  await until(
    () => rolled(join(dir, 'out')).length >= n + 3,
    120_000,
    () => `${n + 3} events in roll's output; collect said:\n${collect.stderr()}`,
  )
  const events = rolled(join(dir, 'out'))
  t.equal(events.length, n + 3, 'every line once')
  t.equal(events[0]!.body, 'café au lait')
  t.equal(events[1]!.body, '', 'an empty line is an empty body')
  t.equal(Buffer.from(events[2]!.body64!, 'base64').toString('latin1'), 'latin1 é', 'non-UTF-8 bytes kept exactly (body64)')
  t.same(
    events.slice(3).map((e) => e.body),
    Array.from({ length: n }, (_, i) => lineN(i + 1)),
    'in order',
  )
  const e = events[5]!
  t.equal(e.headers?.service, 'web', 'static header kept')
  t.equal(e.headers?.file, join(dir, 'app.log'), 'file header kept')
  t.ok(e.headers?.byteoffset === undefined || /^\d+$/.test(e.headers.byteoffset))
  t.ok(typeof e.ts === 'number' && Math.abs(e.ts - Date.now()) < 3_600_000, 'timestamp header → ts')
  t.equal(e.headers?.timestamp, undefined, 'timestamp is a field, not also a header')
  t.match(e.host ?? '', /^[\d.]+$/, 'host header (the host interceptor: an IP) → host')
})

t.test('kill -9 of tsf collect | tsf roll while Flume sends: Flume keeps and re-sends, nothing is lost', async (t) => {
  const lib = flumeLib(t)
  if (!lib) return
  const dir = tmpdir(t)
  let collect = await startCollect(dir, 0)
  const port = collect.port
  t.teardown(() => collect.kill())
  const n = 3000
  writeFileSync(join(dir, 'app.log'), '')
  await startFlume(t, lib, join(dir, 'agent'), 'a', agentConf(dir, port), /Rpc sink k1: Building RpcClient|Rpc sink k1 started/)
  // lines keep coming while the tsf side dies
  let written = 0
  const writer = setInterval(() => {
    const upto = Math.min(n, written + 150)
    appendFileSync(join(dir, 'app.log'), Array.from({ length: upto - written }, (_, i) => lineN(written + i + 1) + '\n').join(''))
    written = upto
  }, 50)
  t.teardown(() => clearInterval(writer))
  await until(
    () => rolled(join(dir, 'out')).length >= 500,
    120_000,
    () => `the first 500 events; collect said:\n${collect.stderr()}`,
  )
  collect.kill('SIGKILL')
  await collect.exited
  collect = await startCollect(dir, port)
  await until(() => written === n, 60_000, 'all lines written')
  const seen = (): Set<string> => new Set(rolled(join(dir, 'out')).map((e) => e.body))
  await until(
    () => seen().size >= n,
    180_000,
    () => `all ${n} lines after the restart (have ${seen().size}); collect said:\n${collect.stderr()}`,
  )
  const got = seen()
  const missing = Array.from({ length: n }, (_, i) => lineN(i + 1)).filter((l) => !got.has(l))
  t.same(missing, [], 'every line delivered (Flume re-sends what was not answered OK: duplicates allowed, no loss)')
})

t.test('compression-type = deflate on the Flume sink, --flume-compression deflate on tsf', async (t) => {
  const lib = flumeLib(t)
  if (!lib) return
  const dir = tmpdir(t)
  const collect = await startCollect(dir, 0, '--flume-compression deflate')
  t.teardown(() => collect.kill())
  const n = 300
  writeFileSync(join(dir, 'app.log'), Array.from({ length: n }, (_, i) => lineN(i + 1) + '\n').join(''))
  await startFlume(
    t,
    lib,
    join(dir, 'agent'),
    'a',
    agentConf(dir, collect.port, 'a.sinks.k1.compression-type = deflate\na.sinks.k1.compression-level = 6'),
    /Rpc sink k1: Building RpcClient|Rpc sink k1 started/,
  )
  await until(
    () => rolled(join(dir, 'out')).length >= n,
    120_000,
    () => `${n} events; collect said:\n${collect.stderr()}`,
  )
  t.same(
    rolled(join(dir, 'out')).map((e) => e.body),
    Array.from({ length: n }, (_, i) => lineN(i + 1)),
  )
  t.notMatch(collect.stderr(), /closing the connection/, 'no protocol error')
})

t.test('ssl = true on the Flume sink (truststore made by the test), --flume-ssl on tsf', async (t) => {
  const lib = flumeLib(t)
  if (!lib) return
  const dir = tmpdir(t)
  const tls = makeTlsFiles(dir)
  const collect = await startCollect(dir, 0, `--flume-ssl --tls-cert ${tls.cert} --tls-key ${tls.key}`)
  t.teardown(() => collect.kill())
  const n = 300
  writeFileSync(join(dir, 'app.log'), Array.from({ length: n }, (_, i) => lineN(i + 1) + '\n').join(''))
  const sslConf = `a.sinks.k1.ssl = true\na.sinks.k1.truststore = ${tls.truststore}\na.sinks.k1.truststore-password = ${tls.password}\na.sinks.k1.truststore-type = PKCS12`
  await startFlume(
    t,
    lib,
    join(dir, 'agent'),
    'a',
    agentConf(dir, collect.port, sslConf),
    /Rpc sink k1: Building RpcClient|Rpc sink k1 started/,
  )
  await until(
    () => rolled(join(dir, 'out')).length >= n,
    120_000,
    () => `${n} events; collect said:\n${collect.stderr()}`,
  )
  t.same(
    rolled(join(dir, 'out')).map((e) => e.body),
    Array.from({ length: n }, (_, i) => lineN(i + 1)),
  )
})
