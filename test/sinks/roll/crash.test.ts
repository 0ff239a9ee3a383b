import t from 'tap'
import { join } from 'node:path'
import {
  content,
  exactlyOnce,
  finalFiles,
  finalLines,
  inProgressFiles,
  readNumber,
  rollPid,
  sh,
  tsf,
  until,
  writer,
} from './fixtures/procs.js'

// kill -9 of roll at random moments (during writes, commits and the renames of frequent rolls),
// each time followed by a restart of the pipeline: in the end every event is in a final file
// exactly once, nothing stays in progress, and the writer was acked for everything.
const N = 100_000

t.test('kill -9 at random moments, restart: every event exactly once', async (t) => {
  const dir = t.testdir()
  const out = join(dir, 'out')
  const ck = join(dir, 'ck')
  const pipeline = `${writer} ${N} ${ck} --pad 40 | ${tsf} roll ${out} --count 3000 --size 64K`
  let kills = 0
  for (let round = 0; round < 5; round++) {
    const run = sh(t, pipeline)
    // kill while roll is busy, at a random point of the stream (counted in acked events, not
    // time: a fast machine must not finish the whole stream before the kill)
    const target = readNumber(ck) + 1 + Math.floor(Math.random() * 8000)
    await until(() => readNumber(ck) >= target || run.child.exitCode !== null, 30_000, 'acks to advance', run.stderr)
    const pid = rollPid(run.child)
    if (pid === undefined) {
      await run.done
      break // the pipeline finished before the kill
    }
    process.kill(pid, 'SIGKILL')
    kills++
    const done = await run.done
    t.not(done.code, 0, `round ${round}: the pipeline fails as a whole (the writer exits when its reader dies)`)
    // everything the writer was acked for is in the files (final or still in progress)
    const acked = readNumber(ck)
    const inFiles = [...finalLines(out), ...inProgressFiles(out).flatMap((f) => content(out, f).toString().split('\n'))]
    const { missing } = exactlyOnce(inFiles, 'stream-a', acked)
    t.same(missing, [], `round ${round}: the ${acked} acked events are all on disk`)
  }
  t.ok(kills > 0, `killed roll ${kills} times mid-stream`)
  const last = sh(t, pipeline)
  const done = await last.done
  t.equal(done.code, 0, last.stderr())
  t.equal(readNumber(ck), N, 'the writer was acked for every event')
  const { missing, duplicated, other } = exactlyOnce(finalLines(out), 'stream-a', N)
  t.same(missing, [], 'nothing lost')
  t.same(duplicated, [], 'nothing twice')
  t.same(other, [], 'no torn or foreign lines')
  t.same(inProgressFiles(out), [], 'nothing left in progress')
  t.ok(finalFiles(out).length >= N / 3000, `${finalFiles(out).length} files`)
})
