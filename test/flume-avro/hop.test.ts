// tsf ship flume+avro:// → a real Flume 1.11.0 hop (avro source → memory channel → avro sink) →
// tsf collect --flume-avro | tsf roll: src and seq travel as tsf.src/tsf.seq headers through
// Flume and come back as fields, so roll writes a batch sent twice only once.
import t from 'tap'
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { flumeLib } from '../fixtures/servers.js'
import { startFlume } from '../fixtures/flume.js'
import { tmpdir } from '../fixtures/procs.js'
import { freePort, run, tsf, until } from '../fixtures/tcp-helpers.js'

// every whole line roll wrote (json format)
const rolled = (dir: string): { body: string; src?: string; seq?: number; headers?: Record<string, string> }[] => {
  if (!existsSync(dir)) return []
  return readdirSync(dir)
    .filter((f) => /\.ndjson(\.tmp)?$/.test(f))
    .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').slice(0, -1).filter(Boolean))
    .map((l) => JSON.parse(l))
}

t.test('a batch sent twice through a Flume hop is written once by tsf roll (src/seq kept as headers)', async (t) => {
  const lib = flumeLib(t)
  if (!lib) return
  const dir = tmpdir(t)
  const collect = run(`exec ${tsf} collect --flume-avro 127.0.0.1:0 | ${tsf} roll ${dir}/out --format json --interval 0`, dir)
  t.teardown(() => collect.kill())
  const [, collectPort] = await collect.waitFor(/flume-avro listening on 127\.0\.0\.1:(\d+)/)
  const hopPort = await freePort()
  const hop = `
h.sources = r1
h.channels = c1
h.sinks = k1
h.sources.r1.type = avro
h.sources.r1.bind = 127.0.0.1
h.sources.r1.port = ${hopPort}
h.sources.r1.channels = c1
h.channels.c1.type = memory
h.channels.c1.capacity = 10000
h.channels.c1.transactionCapacity = 1000
h.sinks.k1.type = avro
h.sinks.k1.channel = c1
h.sinks.k1.hostname = 127.0.0.1
h.sinks.k1.port = ${collectPort}
h.sinks.k1.batch-size = 100
`
  await startFlume(t, lib, join(dir, 'hop'), 'h', hop, /Avro source r1 started/)
  // the same 100 events twice, as a ship re-sends a batch whose answer it lost
  const n = 100
  const events = Array.from(
    { length: n },
    (_, i) => `{"body":"line ${i + 1}","ts":1700000000000,"headers":{"service":"web"},"src":"agent1.stream1","seq":${i + 1}}\n`,
  ).join('')
  writeFileSync(join(dir, 'events.ndjson'), events)
  for (let k = 0; k < 2; k++) {
    const ship = run(`${tsf} ship flume+avro://127.0.0.1:${hopPort} < ${dir}/events.ndjson`, dir)
    t.equal(await ship.exited, 0, `ship ${k + 1} answered OK by the hop`)
  }
  // a third batch after them: once it is written, the duplicates before it went through roll too
  writeFileSync(join(dir, 'last.ndjson'), '{"body":"last","ts":1700000000000,"src":"agent1.stream1","seq":101}\n')
  const last = run(`${tsf} ship flume+avro://127.0.0.1:${hopPort} < ${dir}/last.ndjson`, dir)
  t.equal(await last.exited, 0)
  await until(
    () => rolled(join(dir, 'out')).some((e) => e.body === 'last'),
    120_000,
    () => `the last event in roll's output; collect said:\n${collect.stderr()}`,
  )
  const out = rolled(join(dir, 'out'))
  t.same(
    out.map((e) => e.body),
    [...Array.from({ length: n }, (_, i) => `line ${i + 1}`), 'last'],
    'every event once, in order',
  )
  t.equal(out[0]!.src, 'agent1.stream1', 'src back as a field')
  t.equal(out[0]!.seq, 1, 'seq back as a number')
  t.same(out[0]!.headers, { service: 'web' }, 'headers kept, no tsf.* left among them')
})
