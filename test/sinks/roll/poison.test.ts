import t from 'tap'
import { readdirSync } from 'node:fs'
import { join, relative } from 'node:path'
import { content, finalFiles, inProgressFiles, sh, tsf } from './fixtures/procs.js'
import { fuzz } from '../../fixtures/fuzz.js'

// A poison event never blocks the events behind it: whatever its headers hold, roll writes it (in
// a neutral form) and goes on; nothing it carries can write outside the output root.
const roll = `TZ=UTC ${tsf} roll`
const ts = Date.UTC(2024, 0, 10, 12, 0, 0)
const event = (fields: Record<string, unknown>): string => JSON.stringify({ body: 'x', ts, ...fields })

const linesOf = (dir: string): string[] => finalFiles(dir).flatMap((f) => content(dir, f).toString().split('\n').slice(0, -1))

t.test('a header that is not a string, used in a path, is written stringified (no crash, exit 0)', async (t) => {
  const dir = t.testdir()
  const input =
    [
      event({ body: 'num', headers: { app: 42 } }),
      event({ body: 'obj', headers: { app: { a: '../x' } } }),
      event({ body: 'nul', headers: { app: null } }),
      event({ body: 'after', headers: { app: 'web' } }),
    ].join('\n') + '\n'
  const run = sh(t, `${roll} '${dir}/%{app}'`, input)
  t.equal((await run.done).code, 0, run.stderr())
  t.notMatch(run.stderr(), /at .*\.js:\d+/, 'no stack trace')
  const byDir = Object.fromEntries(finalFiles(dir).map((f) => [f.split('/')[0], content(dir, f).toString()]))
  t.same(byDir, { '42': 'num\n', '{"a":".._x"}': 'obj\n', null: 'nul\n', web: 'after\n' })
})

t.test('a header short in characters but long in bytes makes a valid name, and the events behind it are written', async (t) => {
  const dir = t.testdir()
  const long = '😀'.repeat(99) // 99 characters, 396 bytes
  const input = [event({ body: 'poison', headers: { a: long } }), event({ body: 'behind', headers: { a: 'ok' } })].join('\n') + '\n'
  const run = sh(t, `${roll} '${dir}/out' --prefix '%{a}%{a}%{a}'`, input)
  t.equal((await run.done).code, 0, run.stderr())
  t.same(linesOf(join(dir, 'out')).sort(), ['behind', 'poison'])
  for (const f of finalFiles(join(dir, 'out'))) t.ok(Buffer.byteLength(f) <= 255, `${Buffer.byteLength(f)} bytes`)
})

t.test('an event nested 20,000 deep is written, no RangeError', async (t) => {
  const dir = t.testdir()
  const deep = `{"body":"deep","ts":${ts},"headers":{"a":${'['.repeat(20_000)}${']'.repeat(20_000)}},"x":${'{"k":'.repeat(20_000)}1${'}'.repeat(20_000)}}`
  const run = sh(t, `${roll} '${dir}/%{a}' --format json`, `${deep}\n${event({ body: 'behind' })}\n`)
  t.equal((await run.done).code, 0, run.stderr())
  t.notMatch(run.stderr(), /RangeError|Maximum call stack/)
  const lines = finalFiles(dir).flatMap((f) => content(dir, f).toString().split('\n').slice(0, -1))
  t.equal(lines.length, 2)
  t.ok(lines.includes(deep), 'the deep event, byte for byte')
})

t.test('%{host} is the event host (a field, not a header): one directory per agent host', async (t) => {
  const dir = t.testdir()
  const input =
    [
      event({ body: 'a', host: 'web-1' }),
      event({ body: 'b', host: 'web-2' }),
      event({ body: 'c', host: 'x', headers: { host: 'hdr' } }),
    ].join('\n') + '\n'
  const run = sh(t, `${roll} '${dir}/%{host}'`, input)
  t.equal((await run.done).code, 0, run.stderr())
  t.same(Object.fromEntries(finalFiles(dir).map((f) => [f.split('/')[0], content(dir, f).toString()])), {
    'web-1': 'a\n',
    'web-2': 'b\n',
    hdr: 'c\n',
  })
})

// Every file roll made, relative to the test dir (state included), must be inside the root.
const everyFile = (dir: string): string[] => (readdirSync(dir, { recursive: true }) as string[]).map((f) => String(f))

t.test('path escapes from headers and host never leave the output root (fuzz)', async (t) => {
  const dir = t.testdir()
  const pieces = [
    '..',
    '.',
    '/',
    '\\',
    '../',
    '/..',
    '.tsf-roll',
    '%',
    '%{a}',
    '\u0000',
    '\n',
    '😀',
    'é',
    '\ud800',
    ' ',
    'a',
    '~',
    '$HOME',
    '*',
  ]
  const events: string[] = []
  await fuzz(t, 'hostile path values', { cases: 300 }, (rng, i) => {
    const value = (): string => Array.from({ length: rng.int(0, 8) }, () => rng.pick(pieces)).join('')
    events.push(event({ body: `e${i}`, host: value(), headers: { a: value(), b: rng.bool() ? value() : rng.int(0, 9) } }))
  })
  const run = sh(t, `${roll} '${dir}/root/%{a}/x%{b}' --prefix '%{host}%{a}'`, events.join('\n') + '\n')
  t.equal((await run.done).code, 0, run.stderr())
  const root = join(dir, 'root')
  t.same(
    everyFile(dir).filter((f) => !f.startsWith('root')),
    [],
    'nothing outside the root',
  )
  t.equal(linesOf(root).length, events.length, 'every event written once')
  t.same(inProgressFiles(root), [])
  for (const f of finalFiles(root)) {
    t.notOk(
      f.split('/').some((s) => s === '..' || s === '.' || s.startsWith('.')),
      `no parent, dot or hidden segment: ${JSON.stringify(f)}`,
    )
    t.notOk(relative(root, join(root, f)).startsWith('..'))
  }
  t.same(readdirSync(join(root, '.tsf-roll')).sort(), ['commits.log', 'state.json'], 'roll state untouched by values')
})
