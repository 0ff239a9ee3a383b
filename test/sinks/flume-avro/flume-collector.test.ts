// `tsf tail | tsf ship flume+avro://` into a real Flume 1.11.0 collector (avro source → channel →
// file_roll with the header_and_text serializer): every line arrives with its headers (tsf's src
// and seq among them), also across a kill -9 of the tsf side, through a collector answering FAILED
// (a channel too small for the batch), with deflate, and with TLS.
import t from 'tap'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { flumeLib } from '../../fixtures/servers.js'
import { makeTlsFiles, rolledText, startFlume } from '../../fixtures/flume.js'
import { tmpdir } from '../../fixtures/procs.js'
import { freePort, run, tsf, until } from '../../fixtures/tcp-helpers.js'

// each test its own port, free when the file starts (fixed numbers collided with other runs on the
// machine); the FAILED test starts its second collector on the same one
const PORT = { plain: 0, kill: 0, failed: 0, deflate: 0, tls: 0 }
t.before(async () => {
  for (const k of Object.keys(PORT) as (keyof typeof PORT)[]) PORT[k] = await freePort()
})
const READY = /Avro source r1 started/

// file_roll does not make its directory
const collectorConf = (dir: string, port: number, opts: { channel?: string; source?: string } = {}): string => (
  mkdirSync(join(dir, 'rolled'), { recursive: true }),
  `
c.sources = r1
c.channels = c1
c.sinks = k1
c.sources.r1.type = avro
c.sources.r1.bind = 127.0.0.1
c.sources.r1.port = ${port}
c.sources.r1.channels = c1
${opts.source ?? ''}
${
  opts.channel ??
  `c.channels.c1.type = file
c.channels.c1.checkpointDir = ${dir}/fc/checkpoint
c.channels.c1.dataDirs = ${dir}/fc/data`
}
c.sinks.k1.type = file_roll
c.sinks.k1.channel = c1
c.sinks.k1.sink.directory = ${dir}/rolled
c.sinks.k1.sink.rollInterval = 0
c.sinks.k1.sink.serializer = header_and_text
`
)

interface Rolled {
  headers: Record<string, string>
  body: string
}

// header_and_text writes "{k=v, k=v} body"
const parse = (text: string): Rolled[] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const m = /^\{(.*?)\} (.*)$/.exec(line)
      if (!m) return { headers: {}, body: line }
      const headers: Record<string, string> = {}
      for (const kv of m[1]!.split(', ')) {
        const i = kv.indexOf('=')
        if (i > 0) headers[kv.slice(0, i)] = kv.slice(i + 1)
      }
      return { headers, body: m[2]! }
    })

const lineN = (i: number): string => `line ${i} GET /index.html?id=${i} 200`
const writeLog = (dir: string, n: number): string => {
  const file = join(dir, 'app.log')
  writeFileSync(file, Array.from({ length: n }, (_, i) => lineN(i + 1) + '\n').join(''))
  return file
}
const allLines = (n: number): string[] => Array.from({ length: n }, (_, i) => lineN(i + 1))

// what file_roll wrote, once it holds n lines: Flume answers OK on its channel's commit, and its
// file_roll sink drains the channel later (backing off up to 5 s when it found it empty)
const delivered = async (dir: string, n: number): Promise<Rolled[]> => {
  const read = (): Rolled[] => parse(rolledText(join(dir, 'rolled')))
  await until(
    () => read().length >= n,
    60_000,
    () => `${n} lines in file_roll's output (have ${read().length})`,
  )
  return read()
}

t.test('tsf tail | tsf ship flume+avro:// → Flume avro source → file_roll: lines and headers', async (t) => {
  const lib = flumeLib(t)
  if (!lib) return
  const dir = tmpdir(t)
  await startFlume(t, lib, join(dir, 'flume'), 'c', collectorConf(dir, PORT.plain), READY)
  const n = 2500
  const file = writeLog(dir, n)
  const ship = run(
    `${tsf} tail ${file} --state ${dir}/state -H service=web --host web-1 | ${tsf} ship flume+avro://127.0.0.1:${PORT.plain} --batch 500`,
    dir,
  )
  t.equal(await ship.exited, 0, 'ship ends once Flume answered OK for everything')
  const rolled = await delivered(dir, n)
  t.same(
    rolled.map((r) => r.body),
    allLines(n),
    'every line, once, in order',
  )
  const h = rolled[10]!.headers
  t.equal(h.service, 'web', 'tsf header → Flume header')
  t.equal(h.host, 'web-1', 'host → host header')
  t.match(h.timestamp, /^\d{13}$/, 'ts → timestamp header (epoch ms)')
  t.ok(h['tsf.src'], 'src travels as tsf.src')
  t.equal(h['tsf.seq'], '11', 'seq travels as tsf.seq')
})

t.test('kill -9 of tsf tail | tsf ship while sending: the restart re-sends what Flume did not answer OK', async (t) => {
  const lib = flumeLib(t)
  if (!lib) return
  const dir = tmpdir(t)
  await startFlume(t, lib, join(dir, 'flume'), 'c', collectorConf(dir, PORT.kill), READY)
  const n = 30000
  const file = writeLog(dir, n)
  const pipeline = `${tsf} tail ${file} --state ${dir}/state | ${tsf} ship flume+avro://127.0.0.1:${PORT.kill} --batch 200`
  const first = run(pipeline, dir)
  await until(
    () => parse(rolledText(join(dir, 'rolled'))).length >= 2000,
    120_000,
    () => `2000 lines at Flume; ship said:\n${first.stderr()}`,
  )
  first.kill('SIGKILL')
  await first.exited
  const before = parse(rolledText(join(dir, 'rolled'))).length
  t.ok(before < n, `killed mid-stream (${before} of ${n} delivered)`)
  const second = run(pipeline, dir)
  t.equal(await second.exited, 0, 'the restarted pipeline finishes')
  // duplicates are allowed (what was sent but not answered before the kill goes again): wait for n distinct
  const seen = (): Set<string> => new Set(parse(rolledText(join(dir, 'rolled'))).map((r) => r.body))
  await until(
    () => seen().size >= n,
    60_000,
    () => `${n} distinct lines at Flume (have ${seen().size})`,
  )
  const got = seen()
  t.same(
    allLines(n).filter((l) => !got.has(l)),
    [],
    'every line at Flume (at least once)',
  )
})

t.test('a Flume collector answering FAILED (its channel cannot take the batch): nothing acked, all delivered once it can', async (t) => {
  const lib = flumeLib(t)
  if (!lib) return
  const dir = tmpdir(t)
  // a memory channel whose transactions hold 50 events: a batch of 200 is answered FAILED
  const small = `c.channels.c1.type = memory
c.channels.c1.capacity = 50
c.channels.c1.transactionCapacity = 50`
  const tooSmall = await startFlume(t, lib, join(dir, 'flume1'), 'c', collectorConf(dir, PORT.failed, { channel: small }), READY)
  const n = 1000
  const file = writeLog(dir, n)
  const ship = run(
    `${tsf} tail ${file} --state ${dir}/state | ${tsf} ship flume+avro://127.0.0.1:${PORT.failed} --batch 200 --max-penalty 2s`,
    dir,
  )
  await ship.waitFor(/answered FAILED/, 60_000)
  t.equal(parse(rolledText(join(dir, 'rolled'))).length, 0, 'Flume took nothing')
  tooSmall.kill()
  await tooSmall.exited
  await startFlume(t, lib, join(dir, 'flume2'), 'c', collectorConf(dir, PORT.failed), READY)
  t.equal(await ship.exited, 0, 'ship delivers everything once the collector can take it')
  const rolled = (await delivered(dir, n)).map((r) => r.body)
  t.same(rolled, allLines(n), 'every line once, in order')
})

t.test('--compress deflate into a Flume source with compression-type = deflate', async (t) => {
  const lib = flumeLib(t)
  if (!lib) return
  const dir = tmpdir(t)
  await startFlume(
    t,
    lib,
    join(dir, 'flume'),
    'c',
    collectorConf(dir, PORT.deflate, { source: 'c.sources.r1.compression-type = deflate' }),
    READY,
  )
  const n = 2000
  const file = writeLog(dir, n)
  const ship = run(`${tsf} tail ${file} --state ${dir}/state | ${tsf} ship flume+avro://127.0.0.1:${PORT.deflate} --compress deflate`, dir)
  t.equal(await ship.exited, 0, ship.stderr())
  t.same(
    (await delivered(dir, n)).map((r) => r.body),
    allLines(n),
  )
})

t.test('--flume-ssl into a Flume source with ssl = true (keystore made by the test)', async (t) => {
  const lib = flumeLib(t)
  if (!lib) return
  const dir = tmpdir(t)
  const tls = makeTlsFiles(dir)
  const source = `c.sources.r1.ssl = true
c.sources.r1.keystore = ${tls.keystore}
c.sources.r1.keystore-password = ${tls.password}
c.sources.r1.keystore-type = PKCS12`
  await startFlume(t, lib, join(dir, 'flume'), 'c', collectorConf(dir, PORT.tls, { source }), READY)
  const n = 2000
  const file = writeLog(dir, n)
  const ship = run(
    `${tsf} tail ${file} --state ${dir}/state | ${tsf} ship flume+avro://127.0.0.1:${PORT.tls} --flume-ssl --tls-ca ${tls.cert}`,
    dir,
  )
  t.equal(await ship.exited, 0, ship.stderr())
  t.same(
    (await delivered(dir, n)).map((r) => r.body),
    allLines(n),
  )
})
