// tsf tail without -F: read every file to its end, wait until durable, exit. Real files, the
// built CLI, stdout a regular file (fsync, then checkpoint) or a tsf reader over a pipe.
import t from 'tap'
import { appendFileSync, chmodSync, mkdirSync, writeFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { events, numbered, run, tsf } from '../../fixtures/tail-procs.js'

t.test('reads every file to its end and exits 0; run again it emits nothing, then only what was appended', async (t) => {
  const dir = t.testdir({ 'a.log': 'one\n"two"\nthree\\ \tx\nno newline', 'b.log': numbered('b', 0, 5) })
  const first = run(`${tsf} tail a.log b.log --state st > out1`, dir)
  t.equal(first.code, 0, first.stderr)
  const out = events(`${dir}/out1`)
  const a = out.filter((e) => e.headers.file === `${dir}/a.log`)
  t.same(
    a.map((e) => e.body),
    ['one', '"two"', 'three\\ \tx', 'no newline'],
    'bodies exact, the unterminated last line emitted at the end',
  )
  t.same(
    a.map((e) => e.seq),
    [1, 2, 3, 4],
    'seq counts 1, 2, 3 ... within the file',
  )
  t.same(
    a.map((e) => e.pos),
    [4, 10, 20, 30],
    'pos is the offset just past each line',
  )
  t.equal(new Set(a.map((e) => e.src)).size, 1)
  t.equal(out.filter((e) => e.headers.file === `${dir}/b.log`).length, 5)
  t.not(a[0]!.src, out.find((e) => e.headers.file === `${dir}/b.log`)!.src, 'one src per file')
  t.match(a[0]!.src, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'src is agent id + random id')
  t.equal(a[0]!.host, hostname())
  t.ok(Math.abs(a[0]!.ts - Date.now()) < 60_000, 'ts is the read time')
  t.notOk(out.some((e) => '_ack' in e && e._ack === undefined))

  const second = run(`${tsf} tail a.log b.log --state st > out2`, dir)
  t.equal(second.code, 0, second.stderr)
  t.same(events(`${dir}/out2`), [], 'the second run emits nothing')

  appendFileSync(`${dir}/b.log`, numbered('b', 5, 7))
  const third = run(`${tsf} tail a.log b.log --state st > out3`, dir)
  t.equal(third.code, 0, third.stderr)
  const more = events(`${dir}/out3`)
  t.same(
    more.map((e) => [e.body, e.seq]),
    [
      ['b 5', 6],
      ['b 6', 7],
    ],
    'only the new lines, seq continues',
  )
  t.equal(more[0]!.src, out.find((e) => e.headers.file === `${dir}/b.log`)!.src, 'same src across runs')
})

t.test('-H and --host stamp every event; headers.file names the file', async (t) => {
  const dir = t.testdir({ 'x.log': 'hello\n' })
  const r = run(`${tsf} tail x.log --state st -H dc=eu1 -H team=web --host web-7 > out`, dir)
  t.equal(r.code, 0, r.stderr)
  const [e] = events(`${dir}/out`)
  t.same(e!.headers, { dc: 'eu1', team: 'web', file: `${dir}/x.log` })
  t.equal(e!.host, 'web-7')
})

t.test('invalid UTF-8 and NUL bytes: the event carries the exact bytes in body64', async (t) => {
  const dir = t.testdir()
  const bad = Buffer.from([0x61, 0xff, 0xfe, 0x00, 0x62])
  writeFileSync(`${dir}/bin.log`, Buffer.concat([Buffer.from('ok ü\n'), bad, Buffer.from('\nnul\0here\n')]))
  const r = run(`${tsf} tail bin.log --state st > out`, dir)
  t.equal(r.code, 0, r.stderr)
  const out = events(`${dir}/out`)
  t.equal(out.length, 3)
  t.equal(out[0]!.body, 'ok ü')
  t.notOk(out[0]!.body64)
  t.same(Buffer.from(out[1]!.body64!, 'base64'), bad, 'body64 holds the bytes as written')
  t.equal(out[1]!.body, 'a\ufffd\ufffd\u0000b', 'body is a readable rendering')
  t.equal(out[2]!.body, 'nul\0here', 'a NUL byte is just a character of the line')
})

t.test('a 10 MB single line is cut into pieces marked cont, nothing lost; --truncate keeps the first piece', async (t) => {
  const dir = t.testdir()
  const big = 'x'.repeat(10 * 1024 * 1024 + 7)
  writeFileSync(`${dir}/big.log`, `before\n${big}\nafter\n`)
  const r = run(`${tsf} tail big.log --state st > out`, dir)
  t.equal(r.code, 0, r.stderr)
  t.match(r.stderr, /big\.log: a line longer than 1048576 bytes was cut into pieces marked "cont"/)
  const out = events(`${dir}/out`)
  t.equal(out[0]!.body, 'before')
  const pieces = out.slice(1, -1)
  t.equal(pieces.length, 11)
  t.ok(pieces.slice(0, -1).every((e) => e.cont === true) && !pieces.at(-1)!.cont, 'every piece but the last is cont')
  t.equal(pieces.map((e) => e.body).join(''), big, 'the pieces put together are the line')
  t.equal(pieces.at(-1)!.pos, 7 + big.length + 1)
  t.equal(out.at(-1)!.body, 'after')

  const r2 = run(`${tsf} tail big.log --state st2 --truncate > out2`, dir)
  t.equal(r2.code, 0, r2.stderr)
  const cut = events(`${dir}/out2`)
  t.same(
    cut.map((e) => [e.body.length, e.truncated ?? false]),
    [
      [6, false],
      [1024 * 1024, true],
      [5, false],
    ],
  )
  t.equal(cut[1]!.pos, 7 + big.length + 1, 'the checkpoint of the truncated line lies past its dropped rest')
})

t.test('a file that cannot be read: one clear line naming it, the other files are read, exit 1', async (t) => {
  const dir = t.testdir({ 'ok.log': 'fine\n', 'secret.log': 'hidden\n' })
  chmodSync(dir, 0o777)
  chmodSync(`${dir}/secret.log`, 0o600)
  // as root every file is readable: run tail as nobody (without tap's coverage hooks, which
  // would write where nobody may not)
  const asNobody = process.getuid?.() === 0 ? 'env -u NODE_OPTIONS setpriv --reuid=65534 --regid=65534 --clear-groups ' : ''
  const r = run(`${asNobody}${tsf} tail ok.log secret.log --state ${dir}/st > ${dir}/out`, dir)
  t.equal(r.code, 1, r.stderr)
  t.match(r.stderr, new RegExp(`tsf tail: error: ${dir}/secret\\.log: permission denied`))
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace')
  t.same(
    events(`${dir}/out`).map((e) => e.body),
    ['fine'],
  )
})

t.test('a missing file or a FIFO: one clear line each, exit 1, the others are read', async (t) => {
  const dir = t.testdir({ 'ok.log': 'fine\n' })
  run('mkfifo fifo', dir)
  const r = run(`${tsf} tail ok.log gone.log fifo --state st > out`, dir)
  t.equal(r.code, 1)
  t.match(r.stderr, /gone\.log: no such file or directory/)
  t.match(r.stderr, /fifo: not a regular file/)
  t.same(
    events(`${dir}/out`).map((e) => e.body),
    ['fine'],
  )
})

t.test('1,000 files in a directory, picked by --match and --exclude, each read once', async (t) => {
  const dir = t.testdir()
  mkdirSync(`${dir}/logs/sub/deeper`, { recursive: true })
  for (let i = 0; i < 1000; i++) writeFileSync(`${dir}/logs/f${i}.log`, numbered(`f${i}`, 0, 3))
  writeFileSync(`${dir}/logs/skip.txt`, 'not a log\n')
  writeFileSync(`${dir}/logs/f0.log.gz`, 'compressed\n')
  writeFileSync(`${dir}/logs/sub/s.log`, 'in sub\n')
  writeFileSync(`${dir}/logs/sub/deeper/d.log`, 'too deep\n')
  const r = run(`${tsf} tail logs --match '\\.log$' --exclude '^f99' --recurse 1 --state st > out`, dir)
  t.equal(r.code, 0, r.stderr)
  const out = events(`${dir}/out`)
  const files = new Set(out.map((e) => e.headers.file))
  t.equal(files.size, 1000 - 11 + 1, 'f99, f990..f999 excluded; sub/ searched, sub/deeper not')
  t.ok(files.has(`${dir}/logs/sub/s.log`))
  t.equal(out.length, (1000 - 11) * 3 + 1)
  t.equal(new Set(out.map((e) => e.src)).size, files.size)
})

t.test('globs: quoted patterns are expanded by tail', async (t) => {
  const dir = t.testdir({ a: { 'x.log': 'ax\n', 'y.txt': 'ay\n' }, b: { 'x.log': 'bx\n' } })
  const r = run(`${tsf} tail '*/x.log' --state st > out`, dir)
  t.equal(r.code, 0, r.stderr)
  t.same(
    events(`${dir}/out`)
      .map((e) => e.body)
      .sort(),
    ['ax', 'bx'],
  )
})

t.test('--multiline-start groups stack traces; --ts-format takes the time from the line', async (t) => {
  const log = [
    '2026-11-21 10:00:00,123 INFO start',
    '2026-11-21 10:00:01,000 ERROR boom',
    'java.lang.IllegalStateException: x',
    '\tat a.b(C.java:1)',
    '\tat d.e(F.java:2)',
    '2026-11-21 10:00:02,000 INFO done',
    '',
  ].join('\n')
  const dir = t.testdir({ 'app.log': log })
  const r = run(`${tsf} tail app.log --state st --multiline-start '^\\d{4}-' --ts-format '%Y-%m-%d %H:%M:%S,%f' > out`, dir)
  t.equal(r.code, 0, r.stderr)
  const out = events(`${dir}/out`)
  t.same(
    out.map((e) => e.body),
    [
      '2026-11-21 10:00:00,123 INFO start',
      '2026-11-21 10:00:01,000 ERROR boom\njava.lang.IllegalStateException: x\n\tat a.b(C.java:1)\n\tat d.e(F.java:2)',
      '2026-11-21 10:00:02,000 INFO done',
    ],
  )
  t.same(
    out.map((e) => e.seq),
    [1, 2, 3],
  )
  t.equal(out[1]!.pos, log.indexOf('2026-11-21 10:00:02'), 'pos is past the last line of the event')
  t.equal(out[0]!.ts, new Date(2026, 10, 21, 10, 0, 0, 123).getTime(), 'local time, with milliseconds')
})

t.test('usage errors exit 2 with one line', async (t) => {
  const dir = t.testdir({ 'a.log': 'x\n' })
  for (const args of ['--multiline-timeout 5parsecs', '--match "("', '--window lots', '--ts-format "%Q"', '']) {
    const r = run(`${tsf} tail ${args ? `a.log ${args}` : ''} --state st`, dir)
    t.equal(r.code, 2, `${args || 'no path'}: ${r.stderr}`)
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line')
  }
})

t.test("--ts-format clf on plain access-log lines (the block fast path) takes each line's own time", async (t) => {
  const dir = t.testdir({
    'access.log': [
      '1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 5',
      '1.2.3.4 - - [10/Oct/2000:13:55:37 -0700] "GET /a HTTP/1.1" 200 5',
      'no time on this line',
      '',
    ].join('\n'),
  })
  const r = run(`${tsf} tail access.log --state st --ts-format clf > out`, dir)
  t.equal(r.code, 0, r.stderr)
  const out = events(`${dir}/out`)
  t.same(
    out.slice(0, 2).map((e) => e.ts),
    [Date.UTC(2000, 9, 10, 20, 55, 36), Date.UTC(2000, 9, 10, 20, 55, 37)],
  )
  t.ok(Math.abs(out[2]!.ts - Date.now()) < 60_000, 'a line without a time keeps the read time')
})
