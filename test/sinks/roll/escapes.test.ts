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
  const hostile = [
    '..',
    '.',
    '../../etc',
    '/etc/passwd',
    'a/../../b',
    'nul\u0000byte',
    'ctl\n\r\t\u001b[31m',
    '.tsf-roll',
    '.hidden',
    '\\..\\x',
    'x'.repeat(1000),
    '',
  ]
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

t.test('files in progress are visible, end in .tmp, and the prefix is separated from the counter', async (t) => {
  const names = fileNames({ dir: '2023/11', prefix: 'app-', suffix: '.log.gz' }, 1700000000123, 2)
  t.same(names, {
    stem: '2023/11/app-1700000000123-2',
    suffix: '.log.gz',
    final: '2023/11/app-1700000000123-2.log.gz',
    inProgress: '2023/11/app-1700000000123-2.log.gz.tmp',
  })
  // a prefix made of a date is not glued to the counter (was 2026-12-021796205581065-1.txt)
  t.equal(fileNames({ dir: '', prefix: '2026-12-02', suffix: '.txt' }, 1796205581065, 1).final, '2026-12-02-1796205581065-1.txt')
  t.equal(fileNames({ dir: '', prefix: '', suffix: '.log' }, 5, 1).final, '5-1.log')
  t.equal(fileNames({ dir: '', prefix: 'a_', suffix: '' }, 5, 1).final, 'a_5-1')
  t.throws(() => compileLayout({ dir: '/d', prefix: '', suffix: '.tmp' }), { exitCode: 2 })
})

t.test('a header short in characters but long in bytes still makes a valid name (NAME_MAX in bytes)', async (t) => {
  const layout = compileLayout({ dir: '/d/%{a}%{a}%{a}', prefix: '%{a}%{a}%{a}-', suffix: '%{a}.log' })
  for (const a of ['😀'.repeat(100), 'é'.repeat(200), '中'.repeat(90), 'x'.repeat(300), '\ud800'.repeat(50) + 'é']) {
    const names = fileNames(layout.bucketOf({ ts, headers: { a } }), 1700000000123, 99)
    for (const segment of names.inProgress.split('/')) t.ok(Buffer.byteLength(segment) <= 255, `${Buffer.byteLength(segment)} bytes`)
    t.ok(Buffer.byteLength(names.final.split('/').at(-1)! + '.99') <= 255, 'with an alternative number too')
    t.notMatch(names.final, /\ufffd/, 'never half a character')
    t.ok(Buffer.from(names.final).toString() === names.final, 'valid UTF-8')
  }
})

t.test('a header value that is not a string is written stringified, never a crash', async (t) => {
  const template = compileTemplate('%{n}-%{o}-%{b}-%{z}-%{deep}', 'x')
  let deep: unknown = 1
  for (let i = 0; i < 20_000; i++) deep = [deep]
  t.equal(template.expand({ ts, headers: { n: 42, o: { k: 'v/w' }, b: true, z: null, deep } }), '42-{"k":"v_w"}-true-null-_')
})

t.test('%{host} is the header "host", else the event\'s host field', async (t) => {
  const template = compileTemplate('%{host}', 'x')
  t.equal(template.expand({ ts, host: 'web-1' }), 'web-1')
  t.equal(template.expand({ ts, host: 'web-1', headers: { host: 'from-header' } }), 'from-header')
  t.equal(template.expand({ ts, host: '../../etc' }), '.._.._etc'.replace(/^\./, '_'))
})
