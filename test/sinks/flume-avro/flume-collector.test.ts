// `tsf tail | tsf ship flume+avro://` into a real Flume 1.11.0 collector (avro source → channel →
// file_roll with the header_and_text serializer): every line arrives with its headers (tsf's src
// and seq among them), also across a kill -9 of the tsf side and through a collector answering
// FAILED (a channel too small for the batch). Deflate and TLS: flume-collector-layers.test.ts.
import t from 'tap'
import { join } from 'node:path'
import { flumeLib } from '../../fixtures/servers.js'
import { rolledText, startFlume } from '../../fixtures/flume.js'
import { tmpdir } from '../../fixtures/procs.js'
import { freePort, run, tsf, until } from '../../fixtures/tcp-helpers.js'
import { allLines, collectorConf, delivered, parse, READY, writeLog } from './collector.js'

// each test its own port, free when the file starts (fixed numbers collided with other runs on the
// machine); the FAILED test starts its second collector on the same one
const PORT = { plain: 0, kill: 0, failed: 0 }
t.before(async () => {
  for (const k of Object.keys(PORT) as (keyof typeof PORT)[]) PORT[k] = await freePort()
})

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
