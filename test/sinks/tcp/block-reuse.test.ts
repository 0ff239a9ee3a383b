import t from 'tap'
import { writeFileSync } from 'node:fs'
import { bodies, fixture, run, tsf } from '../../fixtures/tcp-helpers.js'

// ship frames its input into 2 MiB blocks and reuses a block once the collectors acked every batch
// cut from it (releaseEvents). Here ~27 MB of events pass through a few blocks, used again and again
// while later batches wait (the collector's downstream takes its time over each batch): bytes
// framed into a block that still held unsent ones show as a wrong, missing or repeated body.
t.test('tail | ship → collect: 40 MB through reused blocks arrive exactly, in order', async (t) => {
  const dir = t.testdir()
  const n = 100_000
  const pad = 'x'.repeat(150)
  const expected = Array.from({ length: n }, (_, i) => `line ${i + 1} "${pad}" ${i % 7}`)
  writeFileSync(`${dir}/app.log`, `${expected.join('\n')}\n`)
  const col = run(`exec ${tsf} collect --listen 127.0.0.1:0 | node ${fixture('link-reader.mjs')} out.ndjson --delay 5`, dir)
  t.teardown(() => col.kill())
  const port = Number((await col.waitFor(/listening on 127\.0\.0\.1:(\d+)/))[1])
  const agent = run(`${tsf} tail --state st app.log | ${tsf} ship 127.0.0.1:${port}`, dir)
  t.teardown(() => agent.kill())
  t.equal(await agent.exited, 0, agent.stderr())
  const got = bodies(`${dir}/out.ndjson`)
  t.equal(got.length, n, 'every line once')
  const wrong = got.findIndex((body, i) => body !== expected[i])
  t.equal(wrong, -1, wrong === -1 ? 'every body as written, in order' : `line ${wrong + 1}: ${got[wrong]?.slice(0, 80)}`)
})
