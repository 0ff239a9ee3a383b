import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { sh, until } from '../../fixtures/procs.js'
import { dedupe, events, names, pidBelow, put, reader, scratch, tsf } from './fixtures/spool-helpers.js'

t.test('SIGTERM: spool stops reading, saves what was acked, exits 0; the next run sends only the rest', async (t) => {
  const base = scratch(t)
  const d = join(base, 'd')
  const expected: string[] = []
  for (let f = 0; f < 20; f++) {
    const lines = Array.from({ length: 500 }, (_, i) => `f${f} ${i + 1}`)
    expected.push(...lines)
    put(d, `f${String(f).padStart(2, '0')}.log`, lines.join('\n') + '\n')
  }
  const out = join(base, 'out')
  // a slow reader: the run is stopped long before it could finish
  const run = sh(t, `{ ${tsf} spool ${d} --settle 100ms --order name; echo $? > ${base}/rc; } | ${reader} ${out} --delay 200`)
  await until(() => events(out).length > 1000, 60_000, 'some events', run.stderr)
  process.kill(pidBelow(run.child.pid!, 'spool')!, 'SIGTERM')
  const r = await run.done
  t.equal(r.code, 0, 'the reader got a clean end')
  t.equal(readFileSync(join(base, 'rc'), 'utf8').trim(), '0', 'spool exits 0 on SIGTERM')
  t.match(r.stderr, /stopped on SIGTERM/)
  const first = events(out)
  t.ok(first.length < expected.length, `stopped early (${first.length} of ${expected.length})`)
  const r2 = await sh(t, `${tsf} spool ${d} --once --settle 100ms --order name | ${reader} ${out}.2`).done
  t.equal(r2.code, 0)
  const second = events(`${out}.2`)
  const all = dedupe([...first, ...second])
  t.same(all.map((e) => e.body).sort(), [...expected].sort(), 'every line once after dedupe')
  t.equal(first.length + second.length, all.length, 'nothing at all sent twice: the SIGTERM drain acked everything it sent')
  t.equal(names(d).filter((n) => n.endsWith('.COMPLETED')).length, 20)
})

t.test('on a terminal, a progress line on stderr', async (t) => {
  const base = scratch(t)
  const d = join(base, 'd')
  put(d, 'a.log', 'a\n')
  // script(1) gives spool a pseudo-terminal; its stdout goes to a file
  const r = await sh(t, `script -qfec "${tsf} spool ${d} --once --settle 1500ms > ${base}/out" /dev/null`).done
  t.equal(r.code, 0)
  t.match(r.stdout, /tsf spool: \d+ files done, \d+ left, [\d.]+ MiB\/s/, JSON.stringify(r.stdout + r.stderr))
  t.ok(existsSync(join(d, 'a.log.COMPLETED')))
})

t.test(
  'SIGTERM with a downstream that takes nothing: spool still ends after --shutdown-timeout, exit 0, nothing marked done',
  async (t) => {
    const base = scratch(t)
    const d = join(base, 'd')
    put(d, 'a.log', Array.from({ length: 20_000 }, (_, i) => `line ${i + 1} ${'q'.repeat(40)}`).join('\n') + '\n')
    const out = join(base, 'out')
    // the reader sleeps before reading anything: the pipe fills and spool waits for room
    const run = sh(
      t,
      `{ ${tsf} spool ${d} --settle 100ms --shutdown-timeout 1s; echo $? > ${base}/rc; } | ${reader} ${out} --start-after 600000`,
    )
    const picked = (): boolean => {
      try {
        return readFileSync(join(d, '.tsf-spool/spool.json'), 'utf8').includes('a.log')
      } catch {
        return false
      }
    }
    await until(picked, 30_000, 'a.log to be picked up', run.stderr)
    process.kill(pidBelow(run.child.pid!, 'spool')!, 'SIGTERM')
    await until(
      () => existsSync(join(base, 'rc')) && readFileSync(join(base, 'rc'), 'utf8').length > 0,
      30_000,
      'spool to exit',
      run.stderr,
    )
    t.equal(readFileSync(join(base, 'rc'), 'utf8').trim(), '0')
    t.match(run.stderr(), /events not acked by the downstream within 1000 ms: their files stay/)
    t.ok(existsSync(join(d, 'a.log')), 'a.log is not marked done')
  },
)
