import { existsSync, utimesSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { sh } from '../../fixtures/procs.js'
import { events, names, put, reader, scratch, tsf } from './fixtures/spool-helpers.js'

// three files whose modification times and names disagree on the order
const orderDir = (base: string): string => {
  const d = join(base, 'd')
  const now = Date.now() / 1000
  const files: [string, number][] = [
    ['b.log', now - 300],
    ['c.log', now - 100],
    ['a.log', now - 200],
  ]
  for (const [name, mtime] of files) {
    put(d, name, `${name}\n`)
    utimesSync(join(d, name), mtime, mtime)
  }
  return d
}

for (const [order, expected] of [
  ['oldest', ['b.log', 'a.log', 'c.log']],
  ['youngest', ['c.log', 'a.log', 'b.log']],
  ['name', ['a.log', 'b.log', 'c.log']],
] as const) {
  t.test(`--order ${order}`, async (t) => {
    const base = scratch(t)
    const d = orderDir(base)
    const out = join(base, 'out')
    const r = await sh(t, `${tsf} spool ${d} --once --settle 100ms --order ${order} | ${reader} ${out}`).done
    t.equal(r.code, 0)
    t.same(
      events(out).map((e) => e.body),
      expected,
    )
  })
}

t.test('--recurse takes files from subdirectories and renames them where they are; --delete deletes instead', async (t) => {
  const base = scratch(t)
  const d = join(base, 'd')
  put(d, 'top.log', 'top\n')
  put(d, 'x/y/deep.log', 'deep\n')
  put(d, '.hidden-dir/h.log', 'never: the ignore rule applies to directories too\n')
  const out = join(base, 'out')
  const r = await sh(t, `${tsf} spool ${d} --once --settle 100ms --recurse | ${reader} ${out}`).done
  t.equal(r.code, 0)
  t.same(
    events(out)
      .map((e) => e.body)
      .sort(),
    ['deep', 'top'],
  )
  t.same(
    names(d).filter((n) => !n.startsWith('.tsf-spool/')),
    ['.hidden-dir/h.log', 'top.log.COMPLETED', 'x/y/deep.log.COMPLETED'],
  )
  t.equal(events(out).find((e) => e.body === 'deep')!.headers!.file, join(d, 'x/y/deep.log'))

  put(d, 'again.log', 'again\n')
  const r2 = await sh(t, `${tsf} spool ${d} --once --settle 100ms --delete | ${reader} ${out}.2`).done
  t.equal(r2.code, 0)
  t.same(
    events(`${out}.2`).map((e) => e.body),
    ['again'],
  )
  t.notOk(existsSync(join(d, 'again.log')), 'deleted')
  t.notOk(existsSync(join(d, 'again.log.COMPLETED')), 'not renamed')
})

t.test('oversize lines are cut into pieces marked cont, or truncated with --truncate, said once per file', async (t) => {
  const base = scratch(t)
  const d = join(base, 'd')
  put(d, 'long.log', `short\n${'z'.repeat(25)}\nafter\n`)
  const out = join(base, 'out')
  const r = await sh(t, `${tsf} spool ${d} --once --settle 100ms --max-line 10 | ${reader} ${out}`).done
  t.equal(r.code, 0)
  t.same(
    events(out).map((e) => [e.body, e.cont ?? false]),
    [
      ['short', false],
      ['zzzzzzzzzz', true],
      ['zzzzzzzzzz', true],
      ['zzzzz', false],
      ['after', false],
    ],
  )
  t.match(r.stderr, /long\.log: a line longer than 10 bytes was cut into pieces marked "cont"/)

  put(d, 'long2.log', `${'z'.repeat(25)}\nafter\n`)
  const r2 = await sh(t, `${tsf} spool ${d} --once --settle 100ms --max-line 10 --truncate | ${reader} ${out}.2`).done
  t.equal(r2.code, 0)
  t.same(
    events(`${out}.2`).map((e) => [e.body, (e as { truncated?: boolean }).truncated ?? false]),
    [
      ['zzzzzzzzzz', true],
      ['after', false],
    ],
  )
})
