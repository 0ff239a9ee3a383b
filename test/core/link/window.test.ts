import t from 'tap'
import { fixture, lines, readNumber, sh, tmpdir, until } from '../../fixtures/procs.js'

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
