// `tsf tail | tsf ship flume+avro://` into a real Flume 1.11.0 collector with compression-type =
// deflate, and with ssl = true (a keystore made by the test). Split from flume-collector.test.ts:
// each Flume JVM takes a while to start on a loaded machine, and one file ran near tap's timeout.
import t from 'tap'
import { join } from 'node:path'
import { flumeLib } from '../../fixtures/servers.js'
import { makeTlsFiles, startFlume } from '../../fixtures/flume.js'
import { tmpdir } from '../../fixtures/procs.js'
import { freePort, run, tsf } from '../../fixtures/tcp-helpers.js'
import { allLines, collectorConf, delivered, READY, writeLog } from './collector.js'

// each test its own port, free when the file starts (fixed numbers collided with other runs on the
// machine)
const PORT = { deflate: 0, tls: 0 }
t.before(async () => {
  for (const k of Object.keys(PORT) as (keyof typeof PORT)[]) PORT[k] = await freePort()
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
