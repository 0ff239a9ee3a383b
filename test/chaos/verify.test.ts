// The chaos verdict itself must catch what it is there to catch: a lost line, a line written twice
// by one collector, a line changed on the way (invalid UTF-8 turned into U+FFFD), copies across
// collectors without a failover, and files left in progress.
import t from 'tap'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
// @ts-expect-error plain ESM script without types
import { lineBytes } from '../../scripts/chaos/lines.mjs'
// @ts-expect-error plain ESM script without types
import { verify } from '../../scripts/chaos/verify.mjs'

const run = 'rtest'
const body = (numbers: number[]): Buffer => Buffer.concat(numbers.flatMap((n) => [lineBytes(run, n) as Buffer, Buffer.from('\n')]))
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i)

// Two roll roots with the given files ({ 'a/events-1.log': [1, 2, 3] } or raw bytes).
const roots = (t: Parameters<Parameters<typeof t.test>[1]>[0], files: Record<string, number[] | Buffer>): { a: string; b: string } => {
  const dir = t.testdir()
  for (const [path, content] of Object.entries(files)) {
    const full = join(dir, path)
    mkdirSync(join(full, '..'), { recursive: true })
    writeFileSync(full, Buffer.isBuffer(content) ? content : body(content))
  }
  mkdirSync(join(dir, 'a'), { recursive: true })
  mkdirSync(join(dir, 'b'), { recursive: true })
  return { a: join(dir, 'a'), b: join(dir, 'b') }
}
const check = (r: { a: string; b: string }, written: number, switches = 0) =>
  verify({ run, written, roots: { 'collector-a': r.a, 'collector-b': r.b }, switches })

t.test('every line once, split over both collectors and a state dir: pass', async (t) => {
  const r = roots(t, {
    'a/events-1.log': range(1, 600),
    'b/2026/events-2.log': range(601, 1000),
    'a/.tsf-roll/commits': Buffer.from('not output\n'),
  })
  const v = check(r, 1000)
  t.same(v.failures, [])
  t.equal(v.pass, true)
  t.equal(v.union.complete, true, 'the sha256 of the union equals that of what was written')
  t.equal(v.collectors['collector-a'].distinct, 600)
})

t.test('a line missing from both collectors fails and is named', async (t) => {
  const r = roots(t, { 'a/events-1.log': range(1, 499), 'b/events-1.log': range(501, 1000) })
  const v = check(r, 1000)
  t.equal(v.pass, false)
  t.equal(v.union.missing, 1)
  t.match(v.failures.join('\n'), /1 lines missing from every collector \(first: 500\)/)
  t.equal(v.union.complete, false)
})

t.test('a line twice within one collector fails', async (t) => {
  const r = roots(t, { 'a/events-1.log': range(1, 1000), 'a/events-2.log': [77] })
  const v = check(r, 1000)
  t.equal(v.pass, false)
  t.equal(v.collectors['collector-a'].twice, 1)
  t.match(v.failures.join('\n'), /collector-a: 1 lines written twice \(first: 77\)/)
})

t.test('a line whose bytes changed on the way (invalid UTF-8 made valid) fails', async (t) => {
  const changed = Buffer.from(lineBytes(run, 97).toString('utf8') + '\n')
  const r = roots(t, { 'a/events-1.log': range(1, 96), 'a/events-2.log': changed, 'b/events-1.log': range(98, 100) })
  const v = check(r, 100)
  t.equal(v.pass, false)
  t.equal(v.collectors['collector-a'].unexpected, 1)
  t.equal(v.union.missing, 1)
})

t.test('copies on both collectors are counted; without a failover they fail', async (t) => {
  const r = roots(t, { 'a/events-1.log': range(1, 600), 'b/events-1.log': range(551, 1000) })
  const withSwitch = check(r, 1000, 2)
  t.equal(withSwitch.pass, true)
  t.same(withSwitch.acrossCollectors, { lines: 50, runs: 1, switches: 2 })
  const without = check(r, 1000, 0)
  t.equal(without.pass, false)
  t.match(without.failures.join('\n'), /50 lines on both collectors, but ship never switched/)
})

t.test('a file left in progress after the stop fails', async (t) => {
  const r = roots(t, { 'a/events-1.log': range(1, 1000), 'b/.events-2.log.inprogress': range(5, 6) })
  const v = check(r, 1000)
  t.equal(v.pass, false)
  t.match(v.failures.join('\n'), /collector-b: 1 files still in progress/)
})
