import t from 'tap'
import { hostname } from 'node:os'
import { compileTemplate, safeSegment } from '../../../src/sinks/roll/escapes.js'
import { compileLayout, fileNames, splitRoot } from '../../../src/sinks/roll/layout.js'

// 2023-11-14 22:13:20.123 UTC; the tests run with TZ=UTC set below for the time escapes
process.env.TZ = 'UTC'
const ts = 1_700_000_000_123

t.test('time escapes expand from the event time', async (t) => {
  t.equal(compileTemplate('%Y-%m-%d/%H:%M:%S', 'x').expand({ ts }), '2023-11-14/22:13:20')
  t.equal(compileTemplate('%s %t %%', 'x').expand({ ts }), '1700000000 1700000000123 %')
  t.equal(compileTemplate('plain', 'x').dynamic, false)
  t.equal(compileTemplate('%Y', 'x').dynamic, true)
})

t.test('%{header} and %[host]', async (t) => {
  t.equal(compileTemplate('%{app}-%{missing}.', 'x').expand({ ts, headers: { app: 'web' } }), 'web-.')
  t.equal(compileTemplate('%[host]', 'x').expand({ ts }), safeSegment(hostname()))
})

t.test('unknown or malformed escapes are usage errors', async (t) => {
  for (const bad of ['%q', '%{app', '%[ip]', '%{}', 'end%']) {
    t.throws(() => compileTemplate(bad, '--prefix'), { exitCode: 2 }, bad)
  }
})

t.test('hostile header values cannot leave the root, hide a file or reach the state', async (t) => {
  const layout = compileLayout({ dir: '/data/logs/%{a}/%{b}', prefix: '%{a}-', suffix: '.log' })
  t.equal(layout.root, '/data/logs')
  const hostile = ['..', '.', '../../etc', '/etc/passwd', 'a/../../b', 'nul\u0000byte', 'ctl\n\r\t\u001b[31m', '.tsf-roll', '.hidden', '\\..\\x', 'x'.repeat(1000), '']
  for (const a of hostile) {
    for (const b of hostile) {
      const bucket = layout.bucketOf({ ts, headers: { a, b } })
      const segments = bucket.dir ? bucket.dir.split('/') : []
      for (const s of segments) {
        t.not(s, '..', `dir ${JSON.stringify(bucket.dir)}`)
        t.notOk(s.startsWith('.'), `no hidden dir in ${JSON.stringify(bucket.dir)}`)
        t.ok(s.length <= 100, 'segment length bounded')
        // eslint-disable-next-line no-control-regex
        t.notMatch(s, /[\u0000-\u001f\u007f\\]/, 'no control characters or backslashes')
      }
      t.ok(segments.length <= 2, 'a value adds no directories')
      const names = fileNames(bucket, 1, 1)
      t.notOk(names.final.split('/').at(-1)!.startsWith('.'), `final name not hidden: ${JSON.stringify(names.final)}`)
      t.notMatch(names.final, /\u0000/)
    }
  }
  t.equal(safeSegment('..'), '_.')
  t.equal(safeSegment('a/b\u0000c'), 'a_b_c')
  t.equal(safeSegment('.tsf-roll'), '_tsf-roll')
})

t.test('a literal glued to a value cannot make the state directory either', async (t) => {
  const layout = compileLayout({ dir: '/r/.tsf-%{x}', prefix: 'p', suffix: '' })
  t.equal(layout.bucketOf({ ts, headers: { x: 'roll' } }).dir, '_tsf-roll')
})

t.test('the root is the part before the first escape', async (t) => {
  t.same(splitRoot('/data/logs/%Y/%m'), { root: '/data/logs', rest: '%Y/%m' })
  t.same(splitRoot('/data/logs'), { root: '/data/logs', rest: '' })
  t.same(splitRoot('/%Y'), { root: '/', rest: '%Y' })
  t.same(splitRoot('logs-%Y'), { root: '.', rest: 'logs-%Y' })
})

t.test('bad layouts are usage errors', async (t) => {
  t.throws(() => compileLayout({ dir: '/d/%Y/..', prefix: '', suffix: '' }), { exitCode: 2 })
  t.throws(() => compileLayout({ dir: '/d/%Y/.tsf-roll', prefix: '', suffix: '' }), { exitCode: 2 })
  t.throws(() => compileLayout({ dir: '/d', prefix: 'a/b', suffix: '' }), { exitCode: 2 })
  t.throws(() => compileLayout({ dir: '/d', prefix: '.x', suffix: '' }), { exitCode: 2 })
  t.throws(() => compileLayout({ dir: '/d', prefix: '', suffix: '.inprogress' }), { exitCode: 2 })
})

t.test('in-progress names are hidden and distinct from final names', async (t) => {
  const names = fileNames({ dir: '2023/11', prefix: 'app-', suffix: '.log.gz' }, 1700000000123, 2)
  t.same(names, {
    stem: '2023/11/app-1700000000123-2',
    suffix: '.log.gz',
    final: '2023/11/app-1700000000123-2.log.gz',
    inProgress: '2023/11/.app-1700000000123-2.log.gz.inprogress',
  })
})
