import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import {
  content,
  exactlyOnce,
  finalFiles,
  finalLines,
  inProgressFiles,
  pidIn,
  readNumber,
  rollPid,
  sh,
  tsf,
  until,
  writer,
} from './fixtures/procs.js'
import { isLocked, isLockedSh } from '../../fixtures/dir-lock.js'

// Process tests of `tsf roll` through real pipes. Time escapes use TZ=UTC.
const roll = `TZ=UTC ${tsf} roll`
const day = 86_400_000
const t0 = Date.UTC(2024, 0, 10, 12, 0, 0)

const event = (fields: Record<string, unknown>): string => JSON.stringify({ body: 'x', ...fields })

t.test('events are bucketed by their own time, even out of order', async (t) => {
  const dir = t.testdir()
  const input =
    [
      event({ body: 'a1', ts: t0 }),
      event({ body: 'b1', ts: t0 + day }),
      event({ body: 'a2', ts: t0 + 1000 }),
      event({ body: 'c1', ts: t0 + 2 * day }),
      event({ body: 'b2', ts: t0 + day + 5 }),
      event({ body: 'a3', ts: t0 + 2 }), // same hour, after a later day's event
    ].join('\n') + '\n'
  const run = sh(t, `${roll} '${dir}/%Y-%m-%d' --prefix 'app-%H-'`, input)
  t.equal((await run.done).code, 0, run.stderr())
  const files = finalFiles(dir)
  t.equal(files.length, 3, files.join(' '))
  const byDay = Object.fromEntries(files.map((f) => [f.split('/')[0], content(dir, f).toString()]))
  t.same(byDay, { '2024-01-10': 'a1\na2\na3\n', '2024-01-11': 'b1\nb2\n', '2024-01-12': 'c1\n' })
  t.ok(
    files.every((f) => /^\d{4}-\d\d-\d\d\/app-12-\d+-\d+\.log$/.test(f)),
    files.join(' '),
  )
  t.same(inProgressFiles(dir), [], 'nothing left in progress')
})

t.test('--size rolls files at a line boundary, --count after N events', async (t) => {
  const dir = t.testdir()
  const lines = Array.from({ length: 500 }, (_, i) => `line ${i} ${'y'.repeat(i % 50)}`)
  const run = sh(t, `${roll} ${dir}/size --size 1K`, lines.join('\n') + '\n')
  t.equal((await run.done).code, 0, run.stderr())
  const sizeFiles = finalFiles(join(dir, 'size'))
  t.ok(sizeFiles.length > 10, `${sizeFiles.length} files`)
  for (const f of sizeFiles.slice(0, -1)) {
    const bytes = content(join(dir, 'size'), f)
    t.ok(bytes.length >= 1024 && bytes.length < 1024 + 80, `${f}: ${bytes.length} bytes`)
    t.equal(bytes.at(-1), 10, 'ends with a whole line')
  }
  t.same(finalLines(join(dir, 'size')), lines, 'every line once, in order')

  const counted = sh(t, `${roll} ${dir}/count --count 100`, lines.join('\n') + '\n')
  t.equal((await counted.done).code, 0, counted.stderr())
  const countFiles = finalFiles(join(dir, 'count'))
  t.same(
    countFiles.map((f) => content(join(dir, 'count'), f).toString().split('\n').length - 1),
    [100, 100, 100, 100, 100],
  )
  t.same(finalLines(join(dir, 'count')), lines)
})

t.test('redelivered events are dropped by (src, seq), out of order too, across restarts', async (t) => {
  const dir = t.testdir()
  const ev = (seq: number, src = 's1'): string => event({ body: `${src} ${seq}`, ts: t0, src, seq })
  const seqs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 5, 6, 11, 12, 13, 14, 15, 3, 20, 1, 20]
  const first = sh(t, `${roll} ${dir} --format body`, seqs.map((s) => ev(s)).join('\n') + '\n' + ev(1, 's2') + '\n')
  t.equal((await first.done).code, 0, first.stderr())
  t.match(first.stderr(), /dropped events already written/)
  const again = sh(t, `${roll} ${dir} --format body`, Array.from({ length: 20 }, (_, i) => ev(i + 1)).join('\n') + '\n')
  t.equal((await again.done).code, 0, again.stderr())
  const got = finalLines(dir)
  const s1 = got
    .filter((l) => l.startsWith('s1 '))
    .map((l) => Number(l.slice(3)))
    .sort((a, b) => a - b)
  t.same(
    s1,
    Array.from({ length: 20 }, (_, i) => i + 1),
    'each seq exactly once',
  )
  t.same(
    got.filter((l) => l.startsWith('s2 ')),
    ['s2 1'],
    'another stream is deduplicated on its own',
  )
})

t.test('--format body writes the original bytes; cut lines join back; json carries no cursor', async (t) => {
  const dir = t.testdir()
  const raw = Buffer.concat([
    Buffer.from('plain line\n'),
    Buffer.from([0x62, 0x61, 0x64, 0xff, 0xfe, 0x00, 0x01, 0x0a]), // invalid UTF-8 with NUL
    Buffer.from('z'.repeat(5000) + '\n'), // cut into pieces by --max-line
    Buffer.from('{"broken json\n'),
    Buffer.from('last\n'),
  ])
  const run = sh(t, `${roll} ${dir}/body --max-line 1K`, raw)
  t.equal((await run.done).code, 0, run.stderr())
  const files = finalFiles(join(dir, 'body'))
  t.equal(Buffer.concat(files.map((f) => content(join(dir, 'body'), f))).compare(raw), 0, 'byte for byte')

  const ck = join(dir, 'ck')
  const linked = sh(t, `${writer} 50 ${ck} | ${roll} ${dir}/json --format json`)
  t.equal((await linked.done).code, 0, linked.stderr())
  const events = finalLines(join(dir, 'json')).map((l) => JSON.parse(l))
  t.equal(events.length, 50)
  t.notOk(
    events.some((e) => '_ack' in e),
    'no ack-link cursor in files',
  )
  t.same(events[0], { body: 'stream-a 1', ts: 1_700_000_000_001, src: 'stream-a', seq: 1 })
  t.equal(readFileSync(ck, 'utf8'), '50', 'the writer was acked for everything')
})

t.test('--gzip writes valid gzip that holds every line', async (t) => {
  const dir = t.testdir()
  const lines = Array.from({ length: 3000 }, (_, i) => `gz line ${i}`)
  const run = sh(t, `${roll} ${dir} --gzip --size 8K`, lines.join('\n') + '\n')
  t.equal((await run.done).code, 0, run.stderr())
  const files = finalFiles(dir)
  t.ok(files.length > 1 && files.every((f) => f.endsWith('.log.gz')), files.join(' '))
  t.same(
    files.flatMap((f) =>
      gunzipSync(readFileSync(join(dir, f)))
        .toString()
        .split('\n')
        .slice(0, -1),
    ),
    lines,
  )
})

t.test('--idle closes a quiet file while roll keeps running', async (t) => {
  const dir = t.testdir()
  const out = join(dir, 'out')
  // the last line waits for the test's go-ahead, so roll stays up however slow the machine is
  const run = sh(t, `(printf 'a\\nb\\n'; while [ ! -e '${dir}/go' ]; do sleep 0.05; done; printf 'c\\n') | ${roll} ${out} --idle 300ms`)
  // publishing links the final name, then unlinks the .tmp one: both are visible for an instant
  await until(() => finalFiles(out).length === 1 && inProgressFiles(out).length === 0, 20_000, 'the idle file to be published', run.stderr)
  t.equal(run.child.exitCode, null, 'roll still runs')
  t.equal(content(out, finalFiles(out)[0]!).toString(), 'a\nb\n')
  t.same(inProgressFiles(out), [])
  writeFileSync(join(dir, 'go'), '')
  t.equal((await run.done).code, 0, run.stderr())
  t.same(finalLines(out), ['a', 'b', 'c'])
  t.equal(finalFiles(out).length, 2)
})

t.test('SIGHUP closes and reopens files', async (t) => {
  const dir = t.testdir()
  const run = sh(t, `(printf 'one\\n'; sleep 30) | ${roll} ${dir}/out`)
  await until(() => inProgressFiles(join(dir, 'out')).length === 1, 20_000, 'a file in progress', run.stderr)
  t.same(finalFiles(join(dir, 'out')), [])
  const pid = rollPid(run.child)
  t.ok(pid, 'found the roll process')
  process.kill(pid!, 'SIGHUP')
  // publishing links the final name, then unlinks the .tmp one: both are visible for an instant
  await until(
    () => finalFiles(join(dir, 'out')).length === 1 && inProgressFiles(join(dir, 'out')).length === 0,
    20_000,
    'the file to be published',
    run.stderr,
  )
  t.same(finalLines(join(dir, 'out')), ['one'])
  t.same(inProgressFiles(join(dir, 'out')), [])
  // the message and the publishing race through different pipes: wait for it rather than peek
  await until(() => /SIGHUP/.test(run.stderr()), 20_000, 'roll to say SIGHUP', run.stderr)
  process.kill(pid!, 'SIGTERM')
  await until(() => /stopped on SIGTERM/.test(run.stderr()), 20_000, 'roll to stop on SIGTERM', run.stderr)
})

t.test('usage errors exit 2 with one line; a second roll on the same root is refused', async (t) => {
  const dir = t.testdir()
  for (const args of ['--interval soon', '--size 12Q', "--prefix '%q'", '--format xml', "--prefix 'a/b'"]) {
    const run = sh(t, `${roll} ${dir} ${args} < /dev/null`)
    const done = await run.done
    t.equal(done.code, 2, args)
    t.equal(run.stderr().trim().split('\n').length, 1, `one line: ${run.stderr()}`)
  }
  const first = sh(t, `(sleep 30) | ${roll} ${dir}/shared`)
  await until(() => isLocked(join(dir, 'shared'), { kind: 'roll' }), 20_000, 'the first roll to lock its root', first.stderr)
  const second = sh(t, `${roll} ${dir}/shared < /dev/null`)
  const done = await second.done
  t.equal(done.code, 1)
  t.match(second.stderr(), /another tsf roll \(pid \d+\) is writing into this directory/)
  t.notMatch(second.stderr(), /\n\s+at /, 'no stack trace')
})

t.test('--max-open closes the least recently written file to open another', async (t) => {
  const dir = t.testdir()
  const hour = 3_600_000
  // round robin over 5 hourly buckets, 2 open files at most
  const input = Array.from({ length: 50 }, (_, i) => event({ body: `h${i % 5} ${i}`, ts: t0 + (i % 5) * hour })).join('\n') + '\n'
  // one line at a time once roll runs (it locks its root first), so that most lines are commits of their own
  const run = sh(
    t,
    `{ until ${isLockedSh(dir, { kind: 'roll' })}; do sleep 0.05; done; while read -r line; do printf '%s\\n' "$line"; sleep 0.05; done; } | ${roll} '${dir}' --prefix '%H-' --max-open 2`,
    input,
  )
  t.equal((await run.done).code, 0, run.stderr())
  const files = finalFiles(dir)
  t.same([...new Set(files.map((f) => f.slice(0, 3)))].sort(), ['12-', '13-', '14-', '15-', '16-'])
  t.ok(files.length > 5, `files were closed to make room and reopened: ${files.length} files for 5 buckets`)
  for (const f of files) {
    const hourOf = Number(f.slice(0, 2)) - 12
    t.ok(
      content(dir, f)
        .toString()
        .split('\n')
        .slice(0, -1)
        .every((l) => l.startsWith(`h${hourOf} `)),
      `${f} holds only its hour`,
    )
  }
  t.same(
    finalLines(dir)
      .map((l) => Number(l.split(' ')[1]))
      .sort((a, b) => a - b),
    Array.from({ length: 50 }, (_, i) => i),
  )
})

t.test('the writer upstream killed -9: roll writes what it read, exits 3; a restart completes exactly once', async (t) => {
  const dir = t.testdir()
  const ck = join(dir, 'ck')
  const N = 3000
  const pipeline = `${writer} ${N} ${ck} --rate 1000 | ${roll} ${dir}/out`
  const run = sh(t, pipeline)
  await until(() => readNumber(ck) > 100, 30_000, 'acks to start', run.stderr)
  const pid = pidIn(run.child, 'replay-writer.mjs')
  t.ok(pid, 'found the writer')
  process.kill(pid!, 'SIGKILL')
  const done = await run.done
  t.equal(done.code, 3, run.stderr())
  t.match(run.stderr(), /went away without a clean end/)
  t.same(inProgressFiles(join(dir, 'out')), [], 'roll published what it had before exiting')
  const again = sh(t, pipeline.replace('--rate 1000', ''))
  t.equal((await again.done).code, 0, again.stderr())
  const { missing, duplicated } = exactlyOnce(finalLines(join(dir, 'out')), 'stream-a', N)
  t.same(missing, [])
  t.same(duplicated, [])
})

t.test('hostile header values in path escapes stay inside the root', async (t) => {
  const dir = t.testdir({ root: {} })
  const hostile = ['../../escaped', '/etc/passwd', '..', '.tsf-roll', '.hidden', 'a\u0000b', 'tab\tnewline\n', 'ok']
  const input = hostile.map((app, i) => event({ body: `line ${i}`, ts: t0, headers: { app } })).join('\n') + '\n'
  const run = sh(t, `${roll} '${dir}/root/%{app}' --prefix '%{app}-'`, input)
  t.equal((await run.done).code, 0, run.stderr())
  const { readdirSync } = await import('node:fs')
  t.same(readdirSync(dir), ['root'], 'nothing was written next to the root')
  const files = finalFiles(join(dir, 'root'))
  t.equal(files.length, hostile.length, files.join(' | '))
  for (const f of files) {
    t.notOk(
      f.split('/').some((s) => s.startsWith('.') || s === '..'),
      `no hidden or parent segment: ${JSON.stringify(f)}`,
    )
    t.notMatch(f, /[\u0000-\u001f]/, 'no control characters in names')
  }
  t.same(finalLines(join(dir, 'root')).sort(), hostile.map((_, i) => `line ${i}`).sort(), 'every event written once')
})
