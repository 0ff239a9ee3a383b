import t from 'tap'
import { existsSync, readdirSync, writeFileSync } from 'node:fs'
import { fixture, lines, readNumber, sh, tmpdir, tsf, until } from '../../fixtures/procs.js'

// WINDOW (docs/protocol.md): a reader whose commits have a fixed cost (tsf roll on HDFS) asks its
// writers for more bytes in flight than their own window; a writer never goes below its own.

const W = fixture('link-writer.mjs')
const R = fixture('link-reader.mjs')

t.test('a reader that asks for a larger window gets that much unacked from a writer with a small one', async (t) => {
  const dir = tmpdir(t)
  // 3000 events are ~200 KB: ten times the writer's own window; the reader acks nothing before it
  // has them all, so they can only all arrive if the writer took the reader's window
  const run = sh(t, `${W} 3000 ck --window 20000 | ${R} out --window 4000000 --hold-until 3000`, { cwd: dir })
  await until(() => lines(`${dir}/out`).length === 3000, 60_000, 'all 3000 events before any ack', run.stderr)
  const r = await run.done
  t.equal(r.code, 0, r.stderr)
  t.equal(readNumber(`${dir}/ck`), 3000, 'all acked in the end')
})

// tsf tail | grep x | tsf roll: grep writes into a pipe in blocks, so it holds the end of what it
// was given until its buffer fills. A line longer than the writer's window filled the window by
// itself; the writer then waited for an ack of that line, whose end (and cursor) grep held until
// more input came, which the writer would not write: nothing moved again. The window counts past
// the oldest write not acked, so the writer goes on and grep's buffer pushes the line out.
t.test('a line longer than the window, through a block-buffering grep, does not stop the pipeline', async (t) => {
  const dir = tmpdir(t)
  const log = [...Array.from({ length: 100 }, (_, i) => `x before ${i}`), `x${'a'.repeat(200 * 1024)}`]
  for (let i = 0; i < 2000; i++) log.push(`x after ${i}`)
  writeFileSync(`${dir}/f`, `${log.join('\n')}\n`)
  const run = sh(t, `exec ${tsf} tail --window 64K --state st f | grep x | exec ${tsf} roll --interval 0 out`, { cwd: dir })
  const rolled = (): string[] =>
    existsSync(`${dir}/out`)
      ? readdirSync(`${dir}/out`)
          .filter((f) => f.startsWith('events-'))
          .flatMap((f) => lines(`${dir}/out/${f}`))
      : []
  // grep keeps its last block (a few KiB) until its input ends: the lines well after the long one
  await until(
    () => rolled().includes('x after 1000'),
    60_000,
    'the lines after the long one',
    () => `${rolled().length} lines; ${run.stderr()}`,
  )
  const got = rolled()
  t.equal(got[100]?.length, 1 + 200 * 1024, 'the long line whole')
  t.same(got.slice(0, 100), log.slice(0, 100))
  t.same(got.slice(101, 1102), log.slice(101, 1102), 'the lines after it, in order')
})
