import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { sh, until } from '../../fixtures/procs.js'
import { events, put, reader, scratch, tsf } from './fixtures/spool-helpers.js'

// A scan where every file is rejected (one binary file dropped alone) used to leave the adoption
// queue empty and the loop took an undefined entry: exit 70 and a stack trace, the pipeline dead.
t.test('--once: a scan whose only file is rejected quarantines it and exits 1 with one line, no stack trace', async (t) => {
  const base = scratch(t)
  const d = join(base, 'd')
  put(d, 'dump.bin', Buffer.from([0x41, 0x00, 0x42, 0x0a]))
  const out = join(base, 'out')
  const r = await sh(t, `{ ${tsf} spool ${d} --once --settle 100ms; echo $? > ${base}/rc; } | ${reader} ${out}`).done
  t.equal(r.code, 0, 'the reader got a clean end')
  t.equal(readFileSync(join(base, 'rc'), 'utf8').trim(), '1', 'exit 1: a file could not be ingested')
  t.match(r.stderr, /dump\.bin: looks binary \(a NUL byte at offset 1\): moved to /)
  t.notMatch(r.stderr, /internal error|\n\s+at /, 'no stack trace')
})

t.test('following: a lone rejected file does not stop the spool; a good file dropped later is ingested', async (t) => {
  const base = scratch(t)
  const d = join(base, 'd')
  put(d, 'dump.bin', Buffer.from([0x00, 0x01]))
  const out = join(base, 'out')
  const run = sh(t, `${tsf} spool ${d} --settle 50ms --poll-interval 50ms | ${reader} ${out}`)
  await until(() => /looks binary/.test(run.stderr()), 20_000, 'the quarantine line', run.stderr)
  put(d, 'good.log', 'still here\n')
  await until(() => events(out).length === 1, 20_000, 'the good file ingested', run.stderr)
  t.same(
    events(out).map((e) => e.body),
    ['still here'],
  )
  process.kill(-run.child.pid!, 'SIGTERM')
  const r = await run.done
  t.notMatch(r.stderr, /internal error|\n\s+at /, 'no stack trace')
})
