// The short form of the chaos suite (docs/chaos.md): the real agent and collector chains under
// kill -9, collector outages and a full disk for 20 s; its verdict must be PASS.
import t from 'tap'
import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { root, tmpdir } from '../fixtures/procs.js'

t.test('agent and two collectors under fire: nothing lost, nothing twice per collector', async (t) => {
  const dir = tmpdir(t)
  const verdictFile = join(dir, 'verdict.json')
  const args = [
    'scripts/chaos/run.mjs',
    '--duration',
    '20s',
    '--rate',
    '200',
    '--kill-every',
    '1500ms-3s',
    '--drain-timeout',
    '30s',
    '--stop-timeout',
    '20s',
    '--json',
    verdictFile,
  ]
  const child = spawn(process.execPath, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
  let output = ''
  child.stdout.on('data', (d) => (output += d))
  child.stderr.on('data', (d) => (output += d))
  // The runner stops its own chains on SIGTERM (they run in process groups of their own).
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGTERM')
  })
  const code = await new Promise<number | null>((resolve) => {
    const bound = setTimeout(() => child.kill('SIGTERM'), 105_000)
    child.on('exit', (c) => {
      clearTimeout(bound)
      resolve(c)
    })
  })
  t.comment(
    output
      .split('\n')
      .filter((l) => !l.startsWith('chaos ') || l.includes('ABORT'))
      .join('\n'),
  )
  t.equal(code, 0, 'the chaos run passes')
  if (code !== 0) t.comment(output.slice(-4000))
  const v = JSON.parse(readFileSync(verdictFile, 'utf8'))
  t.equal(v.pass, true)
  t.ok(v.written > 1000, `the writer wrote ${v.written} lines`)
  t.equal(v.union.missing, 0, 'no line missing from the union of both collectors')
  t.equal(v.union.complete, true, 'the sha256 of the union equals that of what was written')
  t.equal(v.collectors['collector-a'].twice + v.collectors['collector-b'].twice, 0, 'no line twice within a collector')
  const kills = Object.values(v.injected.kills as Record<string, number>).reduce((a, b) => a + b, 0)
  t.ok(kills >= 3, `kill -9 happened (${kills})`)
  t.same(
    v.injected.outages.map((o: { chain: string }) => o.chain).sort(),
    ['agent', 'collector-a', 'collector-b'],
    'each chain had an outage',
  )
  if (v.diskSkipped) t.comment(`full disk skipped: ${v.diskSkipped}`)
  else t.equal(v.injected.diskFull.length, 1, 'the disk of collector-a filled up once')
  t.ok(v.injected.rotations >= 3, 'the log was rotated')
})
