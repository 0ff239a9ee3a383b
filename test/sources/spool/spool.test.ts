import { chmodSync, chownSync, existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { sh } from '../../fixtures/procs.js'
import { events, names, put, reader, scratch, tsf } from './fixtures/spool-helpers.js'

t.test('spool --once ingests the settled files, with headers and src/seq, renames them, and leaves the rest alone', async (t) => {
  const base = scratch(t)
  const d = join(base, 'd')
  put(d, 'a.log', 'a one\na two\na "three"\n')
  put(d, 'b.log', 'b one\nb without newline')
  put(d, 'empty.log', '')
  put(d, 'latin1.log', Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a])) // invalid UTF-8 is carried as body64
  put(d, '.hidden', 'never\n')
  put(d, 'x.tmp', 'never\n')
  put(d, 'sub/c.log', 'not without --recurse\n')
  const out = join(base, 'out')
  const run = sh(t, `${tsf} spool ${d} --once --settle 100ms -H team=ops --host h1 | ${reader} ${out}`)
  const r = await run.done
  t.equal(r.code, 0, `pipeline exit 0 (stderr: ${r.stderr})`)
  t.notMatch(r.stderr, /files done|\r/, 'no progress line when stderr is not a TTY')
  const evs = events(out)
  const byFile = (f: string) => evs.filter((e) => e.headers?.basename === f)
  t.same(
    byFile('a.log').map((e) => [e.body, e.seq, e.pos]),
    [
      ['a one', 1, 6],
      ['a two', 2, 12],
      ['a "three"', 3, 22],
    ],
  )
  t.same(
    byFile('b.log').map((e) => e.body),
    ['b one', 'b without newline'],
    'an unterminated last line is an event too',
  )
  const latin = byFile('latin1.log')
  t.equal(latin.length, 1)
  t.equal(Buffer.from((latin[0] as unknown as { body64: string }).body64, 'base64').toString('latin1'), 'café')
  for (const e of evs) {
    t.equal(e.headers?.team, 'ops')
    t.equal(e.host, 'h1')
    t.equal(e.headers?.file, join(d, e.headers!.basename!))
  }
  t.equal(new Set(byFile('a.log').map((e) => e.src)).size, 1, 'one src per file')
  t.not(byFile('a.log')[0]!.src, byFile('b.log')[0]!.src, 'files have their own src')
  t.same(
    names(d).filter((n) => !n.startsWith('.tsf-spool/')),
    ['.hidden', 'a.log.COMPLETED', 'b.log.COMPLETED', 'empty.log.COMPLETED', 'latin1.log.COMPLETED', 'sub/c.log', 'x.tmp'],
  )
  t.same(JSON.parse(readFileSync(join(d, '.tsf-spool/spool.json'), 'utf8')).files, [], 'no file left in progress')
})

t.test('bad files go to the quarantine with one clear line each, and the others are ingested', async (t) => {
  const base = scratch(t)
  const d = join(base, 'd')
  put(d, 'good.log', 'fine\n')
  put(d, 'image.png', Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d]))
  put(d, 'reused.log', 'second file of that name\n')
  put(d, 'reused.log.COMPLETED', 'first file of that name\n')
  const out = join(base, 'out')
  const r = await sh(t, `{ ${tsf} spool ${d} --once --settle 100ms; echo $? > ${base}/rc; } | ${reader} ${out}`).done
  t.equal(r.code, 0, 'the reader got a clean end')
  t.equal(readFileSync(join(base, 'rc'), 'utf8').trim(), '1', 'spool exits 1: some files could not be ingested')
  t.match(r.stderr, /image\.png: looks binary \(a NUL byte at offset 8\): moved to .*\.tsf-quarantine\/image\.png/)
  t.match(r.stderr, /reused\.log: name reused: .*reused\.log\.COMPLETED already exists/)
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace')
  t.same(
    events(out).map((e) => e.body),
    ['fine'],
  )
  t.ok(existsSync(join(d, '.tsf-quarantine/image.png')))
  t.equal(readFileSync(join(d, '.tsf-quarantine/reused.log'), 'utf8'), 'second file of that name\n')
  t.equal(readFileSync(join(d, 'reused.log.COMPLETED'), 'utf8'), 'first file of that name\n', 'the earlier file is untouched')
})

t.test('a file the spool may not read is quarantined (run as nobody, so permissions apply)', async (t) => {
  const base = scratch(t)
  chmodSync(base, 0o755)
  const d = join(base, 'd')
  put(d, 'ok.log', 'readable\n')
  put(d, 'secret.log', 'root only\n')
  chownSync(d, 65534, 65534)
  chownSync(join(d, 'ok.log'), 65534, 65534)
  chmodSync(join(d, 'secret.log'), 0o600)
  const out = join(base, 'out')
  put(base, 'out', '')
  chownSync(out, 65534, 65534)
  chownSync(base, 65534, 65534)
  // (without NODE_OPTIONS: tap's process tracking would write where nobody may not)
  const r = await sh(
    t,
    `env -u NODE_OPTIONS setpriv --reuid=nobody --regid=nogroup --clear-groups sh -c '{ ${tsf} spool ${d} --once --settle 100ms; echo $? > ${base}/rc; } | ${reader} ${out}'`,
  ).done
  t.equal(r.code, 0, `the reader got a clean end (stderr: ${r.stderr})`)
  t.equal(readFileSync(join(base, 'rc'), 'utf8').trim(), '1', 'spool exits 1')
  t.match(r.stderr, /secret\.log: cannot be read: permission denied: moved to .*\.tsf-quarantine\/secret\.log/)
  t.same(
    events(out).map((e) => e.body),
    ['readable'],
  )
  t.ok(existsSync(join(d, 'ok.log.COMPLETED')))
})

t.test('usage errors exit 2 and a missing directory is one clear line', async (t) => {
  const base = scratch(t)
  const bad = await sh(t, `${tsf} spool ${base} --settle soon`).done
  t.equal(bad.code, 2)
  t.match(bad.stderr, /--settle: expected a duration/)
  const order = await sh(t, `${tsf} spool ${base} --order random`).done
  t.equal(order.code, 2)
  const missing = await sh(t, `${tsf} spool ${join(base, 'nope')} --once`).done
  t.equal(missing.code, 1)
  t.match(missing.stderr, /nope: cannot use it as the spool directory: no such file or directory/)
  t.notOk(existsSync(join(base, 'nope')), 'the directory is not created')
})
