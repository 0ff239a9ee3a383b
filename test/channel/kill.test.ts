import t from 'tap'
import { readNumber, sh } from '../fixtures/procs.js'
import { ended, linkReader, missing, replayWriter, seqsIn, tsf, until } from './helpers.js'
import { readFileSync } from 'node:fs'

// writer | channel | reader, with kill -9 of each of the three in turn at random moments, then a
// run to the end: every event arrives, in order within each run, duplicates only from re-sends.
t.test('kill -9 of the writer, the channel or the reader loses nothing', async (t) => {
  const dir = t.testdir()
  const n = 20000
  const rounds = 6
  const pipeline = (): string =>
    `${replayWriter} ${n} ${dir}/cp --per-tick 20 | sh -c 'echo $$ > ${dir}/ch.pid; exec ${tsf} channel --dir ${dir}/q --segment-size 64K' | ${linkReader} ${dir}/out`
  const victims = ['writer', 'channel', 'reader'] as const
  for (let round = 0; round < rounds; round++) {
    const before = seqsIn(`${dir}/out`).length
    const run = sh(t, pipeline())
    // let it get going, then kill at a random moment
    await until(
      () => seqsIn(`${dir}/out`).length > before,
      20_000,
      `first events of round ${round}`,
      () => run.stderr(),
    )
    await new Promise((r) => setTimeout(r, 100 + Math.random() * 900))
    const victim = victims[round % 3]!
    const pidFile = victim === 'writer' ? `${dir}/cp.pid` : victim === 'channel' ? `${dir}/ch.pid` : `${dir}/out.pid`
    process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL')
    const r = await ended(run)
    t.comment(
      `round ${round}: killed the ${victim}; exit ${r.code}; ${seqsIn(`${dir}/out`).length} lines, writer acked ${readNumber(`${dir}/cp`)}`,
    )
  }
  const last = await ended(sh(t, pipeline()), 60_000)
  t.equal(last.code, 0, `the last run ends cleanly: ${last.stderr.slice(-400)}`)
  t.equal(readNumber(`${dir}/cp`), n, 'the writer saw every event acked')
  const seqs = seqsIn(`${dir}/out`)
  t.same(missing(seqs, n), [], 'nothing lost')
  let restarts = 0
  for (let i = 1; i < seqs.length; i++) if (seqs[i]! <= seqs[i - 1]!) restarts++
  // each start of the pipeline (the rounds and the last run) can go back twice: the channel
  // re-sends what its reader had not acked, and a restarted writer re-sends what the channel had
  // not acked, which the reader meets later in the log
  t.ok(restarts <= 2 * (rounds + 1), `events go back in sequence only at a restart (${restarts} times)`)
  t.comment(`${seqs.length - n} duplicates over ${rounds} kills`)
})
