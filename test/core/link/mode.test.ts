import t from 'tap'
import { fixture, lines, readNumber, sh, tmpdir, until } from '../../fixtures/procs.js'

// The checkpoint-mode rules of src/core/link/mode.ts, with real processes over real pipes
// (test/fixtures/link-writer.mjs emits numbered events and saves the highest number it may
// checkpoint; link-reader.mjs appends, fsyncs, then acks). The basic link cases are in link.test.ts.
const W = fixture('link-writer.mjs')
const R = fixture('link-reader.mjs')

t.test('a linked reader alive and quiet (a filter dropping everything for a while) never downgrades the writer', async (t) => {
  const dir = tmpdir(t)
  const samples: number[] = []
  // events 500..2499 are dropped: two seconds of silence at 1000 events/s, four link timeouts
  const run = sh(
    t,
    `${W} 3000 ck --rate 1000 --link-timeout 500 | grep --line-buffered -vE 'event (5|6|7|8|9|1[0-9]|2[0-4])[0-9]{2}"' | ${R} out`,
    { cwd: dir },
  )
  const sample = setInterval(() => {
    const n = lines(`${dir}/out`).length
    if (n === 499) samples.push(readNumber(`${dir}/ck`))
  }, 20)
  const r = await run.done
  clearInterval(sample)
  t.equal(r.code, 0, r.stderr)
  t.ok(samples.length > 10, `sampled during the silence (${samples.length})`)
  t.ok(
    samples.every((n) => n <= 499),
    `nothing past the last passed event was checkpointed during the silence (max ${Math.max(...samples)})`,
  )
  t.notMatch(r.stderr, /best effort|checkpointing on write/)
  t.match(r.stderr, /mode acked unacked 0/)
  t.equal(readNumber(`${dir}/ck`), 3000)
  t.equal(lines(`${dir}/out`).length, 1000)
})

t.test('a block-buffering filter with a tsf reader behind it: nothing is checkpointed before that reader acks', async (t) => {
  const dir = tmpdir(t)
  // 14 small events stay in grep's buffer: the writer must wait for the reader behind grep,
  // not checkpoint them on write after the grace period (a SIGTERM of grep would lose them)
  const run = sh(t, `{ ${W} 14 ck --grace 200; sleep 60; } | grep -v DEBUG | ${R} out`, { cwd: dir })
  await until(() => /a tsf reader behind it/.test(run.stderr()), 20_000, 'the writer to see the reader behind grep', run.stderr)
  await new Promise((r) => setTimeout(r, 800)) // well past the 200 ms grace period
  t.equal(readNumber(`${dir}/ck`), 0, 'nothing checkpointed while grep holds the events')
  t.notMatch(run.stderr(), /best effort|checkpointing on write/)
})

t.test('checkpoint-on-write is not one-way: a tsf reader that links up later brings back acked mode', async (t) => {
  const dir = tmpdir(t)
  // cat is not tsf and the shell behind it has not exec'd the reader yet when the grace ends
  const r = await sh(t, `${W} 4000 ck --rate 5000 --grace 200 --shell-grace 300 | cat | (sleep 2 </dev/null; exec ${R} out)`, { cwd: dir })
    .done
  t.equal(r.code, 0, r.stderr)
  t.match(r.stderr, /checkpointing on write; this pipeline is now best effort/, 'the fallback says what it is')
  t.match(r.stderr, /back to end to end/, 'and so does the way back')
  t.ok(r.stderr.indexOf('best effort') < r.stderr.indexOf('back to end to end'))
  t.match(r.stderr, /mode acked unacked 0/)
  t.equal(lines(`${dir}/out`).length, 4000)
})
