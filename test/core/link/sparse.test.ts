import t from 'tap'
import { appendFileSync, openSync, closeSync, writeSync, writeFileSync } from 'node:fs'
import { fixture, lines, pidOf, sh, tmpdir, tsf, until } from '../../fixtures/procs.js'

// Sparse cursors (docs/protocol.md §1): between `tsf tail` and a directly linked tsf reader only
// the last line of each write carries a cursor; the reader vouches for the lines before it by
// their count. A line another program writes into the same pipe (here through /proc, after the
// writer's looks for a second writer) makes the count wrong: the held lines are then checked one
// by one, so every line still comes out as a valid event, and nothing is lost or doubled.
const R = fixture('link-reader.mjs')
const burst = (from: number, n: number): string =>
  Array.from({ length: n }, (_, k) => `line ${from + k} ${'x'.repeat((from + k) % 300)}\n`).join('')

t.test('a line of another writer among sparse lines: the count does not add up, every line is checked, none lost', async (t) => {
  const dir = tmpdir(t)
  writeFileSync(`${dir}/app.log`, burst(0, 1000))
  const run = sh(t, `{ ${tsf} tail -F --state ${dir}/state ${dir}/app.log & echo $! > tail.pid; wait $!; } | ${R} out --lines`, {
    cwd: dir,
  })
  await until(() => lines(`${dir}/out`).length === 1000, 30_000, 'the first lines', run.stderr)
  // and linked directly (PIPE): all 1000 lines may have been in the pipe before the link was up
  await until(() => run.stderr().includes('reader: direct'), 30_000, 'the direct link', run.stderr)
  // tail is idle now (its last write ended with a cursor): a foreign line lands between two writes
  const fd = openSync(`/proc/${pidOf(`${dir}/out.pid`)}/fd/0`, 'w')
  writeSync(fd, '{"body":"foreign"}\n')
  closeSync(fd)
  appendFileSync(`${dir}/app.log`, burst(1000, 3000))
  await until(() => lines(`${dir}/out`).length === 4001, 30_000, 'every line', run.stderr)
  process.kill(pidOf(`${dir}/tail.pid`), 'SIGTERM')
  const r = await run.done
  t.equal(r.code, 0, r.stderr)
  const events = lines(`${dir}/out`).map((l) => JSON.parse(l) as { body: string; _ack?: string })
  t.equal(events.length, 4001, 'each line once')
  t.same(
    events.filter((e) => e.body !== 'foreign').map((e) => e.body),
    burst(0, 4000).split('\n').slice(0, -1),
    'every line of the log, in order',
  )
  t.equal(events.filter((e) => e.body === 'foreign').length, 1, 'and the foreign line as an event of its own')
  t.notOk(
    events.some((e) => e._ack !== undefined),
    'no cursor left in any event',
  )
  t.match(r.stderr, /did not add up/, 'the reader saw the count go wrong and checked the lines')
})

t.test('tail | reader: sparse cursors between them, every line delivered and acked', async (t) => {
  const dir = tmpdir(t)
  writeFileSync(`${dir}/app.log`, burst(0, 20_000))
  const r = await sh(t, `${tsf} tail --state ${dir}/state ${dir}/app.log | ${R} out --lines`, { cwd: dir }).done
  t.equal(r.code, 0, r.stderr)
  t.same(
    lines(`${dir}/out`).map((l) => (JSON.parse(l) as { body: string }).body),
    burst(0, 20_000).split('\n').slice(0, -1),
  )
  t.notMatch(r.stderr, /did not add up|unacked/, 'no recheck, nothing left unacked')
})

t.test('two tsf writers one after the other into one reader: the second is linked and acked, not held for the first', async (t) => {
  const dir = tmpdir(t)
  writeFileSync(`${dir}/a.log`, burst(0, 3000))
  writeFileSync(`${dir}/b.log`, burst(3000, 3000))
  // the subshell is the pipe's writer too: the second tail is never reported as a second writer
  const r = await sh(
    t,
    `{ ${tsf} tail --state ${dir}/state-a ${dir}/a.log; ${tsf} tail --state ${dir}/state-b ${dir}/b.log; } | ${R} out --lines`,
    { cwd: dir },
  ).done
  t.equal(r.code, 0, r.stderr)
  t.same(
    lines(`${dir}/out`).map((l) => (JSON.parse(l) as { body: string }).body),
    burst(0, 6000).split('\n').slice(0, -1),
    'every line of both, in order, once',
  )
  t.notMatch(r.stderr, /unacked/, 'both writers got their acks')
})
