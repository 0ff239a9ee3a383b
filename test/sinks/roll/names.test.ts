import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { LocalStorage } from '../../../src/sinks/roll/local-storage.js'
import { RangeSet } from '../../../src/sinks/roll/ranges.js'
import { RollState } from '../../../src/sinks/roll/state.js'
import { finalFiles, finalLines, listFiles, root as repo, sh, tsf, until } from './fixtures/procs.js'

// What an operator coming from Flume sees: files being written are visible with an in-progress
// suffix, names separate the prefix from the counter, files roll every 30 s by default, and an
// output root left by an earlier version (hidden .inprogress files) is finished without loss or
// duplicates.
const roll = `TZ=UTC ${tsf} roll`

t.test('a file being written is visible as NAME.tmp and renamed when it rolls', async (t) => {
  const dir = t.testdir()
  const out = join(dir, 'out')
  const run = sh(
    t,
    `(printf 'one\\n'; while [ ! -e '${dir}/go' ]; do sleep 0.05; done) | ${roll} '${out}/%Y' --prefix 'app' --use-local-time`,
  )
  await until(() => listFiles(out).some((f) => f.endsWith('.log.tmp')), 20_000, 'a file in progress', run.stderr)
  const writing = listFiles(out)
  t.equal(writing.length, 1)
  t.match(writing[0]!, /^\d{4}\/app-\d{13}-1\.log\.tmp$/, 'visible (no leading dot), the prefix separated from the counter')
  // the file is created before its first batch is written: poll until that batch is in it
  const inProgress = join(out, writing[0]!)
  await until(
    () => readFileSync(inProgress, 'utf8') === 'one\n',
    20_000,
    'the first line in the file in progress',
    () => JSON.stringify(readFileSync(inProgress, 'utf8')),
  )
  t.same(listFiles(out), writing, 'what is written is readable while the file is still in progress')
  writeFileSync(join(dir, 'go'), '')
  t.equal((await run.done).code, 0, run.stderr())
  t.same(listFiles(out), [writing[0]!.slice(0, -'.tmp'.length)], 'renamed on roll')
})

t.test('roll every 30 s by default, as Flume file_roll does', async (t) => {
  const help = execFileSync('node', [join(repo, 'bin/tsf.js'), 'roll', '--help'], { encoding: 'utf8' })
  t.match(help.replace(/\s+/g, ' '), /--interval <duration> [^-]*\(default: 30s, as Flume's file_roll\)/)
})

t.test('an output root left by an earlier version (hidden .NAME.inprogress) is finished: nothing lost, nothing twice', async (t) => {
  const dir = t.testdir()
  // the state and files exactly as the earlier layout left them after a kill -9
  const storage = new LocalStorage(dir)
  const state = new RollState(storage, 86_400_000)
  await state.load()
  const legacy = '2024-01-10/.events-1704888000000-1.log.inprogress'
  await state.opening(legacy, '2024-01-10/events-1704888000000-1', '.log')
  await storage.create(legacy).then((f) => f.close())
  writeFileSync(join(dir, legacy), 'a 1\na 2\n')
  await state.commitBatch(new Map([[legacy, 8]]), new Map([['a', new RangeSet([[1, 2]])]]))
  writeFileSync(join(dir, legacy), 'a 1\na 2\na 3\n') // a 3: written, never committed
  await state.close()
  // the upstream re-sends what was not acked (a 2 once more, a 3), then new events
  const input = [2, 3, 4].map((seq) => JSON.stringify({ body: `a ${seq}`, ts: Date.UTC(2024, 0, 10, 12), src: 'a', seq })).join('\n') + '\n'
  const run = sh(t, `${roll} '${dir}/%Y-%m-%d'`, input)
  t.equal((await run.done).code, 0, run.stderr())
  t.same(finalLines(dir).sort(), ['a 1', 'a 2', 'a 3', 'a 4'], 'each line once')
  const files = finalFiles(dir)
  t.ok(files.includes('2024-01-10/events-1704888000000-1.log'), 'the old file published under its final name')
  t.ok(
    files.every((f) => !f.split('/').pop()!.startsWith('.')),
    files.join(' '),
  )
})

t.test('a --prefix header the event lacks (or empty, or a value starting with "-") never makes a name starting with "-"', async (t) => {
  const dir = t.testdir()
  const out = join(dir, 'out')
  const events = [
    { body: 'with', ts: 0, headers: { app: 'web' } },
    { body: 'without', ts: 0, headers: {} },
    { body: 'empty', ts: 0, headers: { app: '' } },
    { body: 'dash', ts: 0, headers: { app: '-rf' } },
  ]
  writeFileSync(join(dir, 'in.ndjson'), events.map((e) => JSON.stringify(e)).join('\n') + '\n')
  const run = sh(t, `${roll} '${out}' --prefix '%{app}-' < '${dir}/in.ndjson'`)
  t.equal((await run.done).code, 0, run.stderr())
  const names = listFiles(out)
  t.equal(names.length, 3, names.join(' '))
  t.notOk(
    names.some((n) => n.startsWith('-')),
    names.join(' '),
  )
  const bodyOf = (name: string): string => readFileSync(join(out, name), 'utf8')
  t.same(names.filter((n) => /^web-\d{13}-1\.log$/.test(n)).map(bodyOf), ['with\n'])
  t.same(names.filter((n) => /^_-\d{13}-1\.log$/.test(n)).map(bodyOf), ['without\nempty\n'], 'a missing or empty header is "_"')
  t.same(names.filter((n) => /^_rf-\d{13}-1\.log$/.test(n)).map(bodyOf), ['dash\n'], 'a leading "-" becomes "_"')
})
