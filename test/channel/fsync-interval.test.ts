import t from 'tap'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { sh } from '../fixtures/procs.js'
import { ended, killGroup, tsf, until } from './helpers.js'

// --fsync <interval> bounds how often a steady flow is fsynced, but an upstream stops once its
// window of unacked events is full and then sends nothing until the channel acks: the channel must
// not wait out the interval then (with --fsync 1h, an hour per window).
t.test('a long --fsync interval does not hold up an upstream whose window is full', async (t) => {
  const dir = t.testdir()
  const n = 40_000
  const line = 'x'.repeat(140)
  writeFileSync(`${dir}/app.log`, Array.from({ length: n }, (_, i) => `${i} ${line}\n`).join(''))
  // tail holds at 2 MiB of unacked events, a third of the file: without acks the rest never comes
  const run = sh(t, `${tsf} tail --state ${dir}/st --window 2M ${dir}/app.log | ${tsf} channel --dir ${dir}/q --fsync 1h > ${dir}/out`)
  const lines = (): number => (existsSync(`${dir}/out`) ? readFileSync(`${dir}/out`, 'latin1').split('\n').length - 1 : 0)
  await until(
    () => lines() >= n,
    120_000,
    'every line through the channel',
    () => `${lines()} lines; ${run.stderr().slice(-300)}`,
  )
  t.equal(lines(), n, 'every line came through, once')
  // the last events stay unacked until the interval: the user asked for that
  killGroup(run)
  await ended(run)
})
