import t, { type Test } from 'tap'
import { channelStat } from '../../src/channel/stat.js'
import { readNumber, sh } from '../fixtures/procs.js'
import { ended, killGroup, linkReader, replayWriter, seqsIn, stderrSays, tsf, until } from './helpers.js'

const n = 3000
const small = '--max-size 64K --segment-size 16K'
const increasing = (seqs: number[]): boolean => seqs.every((s, i) => i === 0 || s > seqs[i - 1]!)
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i)

// Writes n events into a write-only channel whose only registered reader is not running yet.
// The writer waits for its last acks as long as the test may take: its n events fit in a pipe of
// 1 MiB (docs/protocol.md, the pipe's size), so it writes them all and ends while the channel is
// still full, and with the default 10 s a loaded machine's slow reader start made it give up and
// exit with its checkpoint short of n (the channel stored every event in the end all the same).
const fill = (t: Test, dir: string, policy: string) =>
  sh(
    t,
    `${replayWriter} ${n} ${dir}/cp --pad 40 --end-timeout 120000 | ${tsf} channel --dir ${dir}/q --write-only --reader r ${small} --when-full ${policy}`,
  )

const readAll = async (t: Test, dir: string, expect: number) => {
  const reader = sh(t, `${tsf} channel --dir ${dir}/q --read-only --reader r | ${linkReader} ${dir}/out`)
  await until(
    () => seqsIn(`${dir}/out`).length >= expect,
    30_000,
    `${expect} events read`,
    () => reader.stderr(),
  )
  await new Promise((r) => setTimeout(r, 200)) // nothing more comes
  killGroup(reader)
  await ended(reader)
  return seqsIn(`${dir}/out`)
}

t.test('a full channel blocks its writer (back pressure) and resumes when the reader catches up', async (t) => {
  const dir = t.testdir()
  const writer = fill(t, dir, 'block')
  await stderrSays(writer, /full \(--max-size 64\.0 KiB\): holding input until readers catch up/)
  // the acks of what was stored before it filled up are still on their way (each waits for its
  // group commit's fsync, slow under load): wait until the writer's checkpoint reaches the end of
  // what the channel stored, the observable end of that
  const stored = async (): Promise<number> => (await channelStat(`${dir}/q`)).segments.nextIndex
  let held = await stored()
  for (const deadline = Date.now() + 30_000; readNumber(`${dir}/cp`) !== held; held = await stored()) {
    if (Date.now() > deadline) throw new Error(`the writer's checkpoint ${readNumber(`${dir}/cp`)} never reached the ${held} events stored`)
    await new Promise((r) => setTimeout(r, 50))
  }
  t.ok(held < n, `the writer is held (acked ${held} of ${n})`)
  await new Promise((r) => setTimeout(r, 500))
  t.equal(await stored(), held, 'the channel stores nothing more while full')
  t.equal(readNumber(`${dir}/cp`), held, 'and the writer makes no progress')
  const reader = sh(t, `${tsf} channel --dir ${dir}/q --read-only --reader r | ${linkReader} ${dir}/out`)
  const w = await ended(writer, 60_000)
  t.equal(w.code, 0, w.stderr)
  t.match(w.stderr, /room again, taking input/)
  t.equal(readNumber(`${dir}/cp`), n, 'every event stored and acked in the end')
  await until(() => seqsIn(`${dir}/out`).length >= n, 30_000, 'all events read')
  killGroup(reader)
  await ended(reader)
  t.same(seqsIn(`${dir}/out`), range(1, n), 'all of them, in order, once')
})

t.test('drop-newest drops what arrives while full and counts it', async (t) => {
  const dir = t.testdir()
  const w = await ended(fill(t, dir, 'drop-newest'), 60_000)
  t.equal(w.code, 0, w.stderr)
  t.equal(readNumber(`${dir}/cp`), n, 'dropped events are acked upstream: that is the policy')
  const dropped = Number(/dropped (\d+) new event\(s\) while full/.exec(w.stderr)?.[1] ?? NaN)
  t.ok(dropped > 0 && dropped < n, `dropped ${dropped}`)
  const seqs = await readAll(t, dir, n - dropped)
  t.equal(seqs.length, n - dropped, 'what was not dropped is delivered')
  t.same(seqs.slice(0, 100), range(1, 100), 'the first events were kept (a batch that fits later is kept too)')
  t.ok(increasing(seqs), 'in order, once')
})

t.test('drop-oldest drops whole old segments when full and counts them', async (t) => {
  const dir = t.testdir()
  const w = await ended(fill(t, dir, 'drop-oldest'), 60_000)
  t.equal(w.code, 0, w.stderr)
  t.equal(readNumber(`${dir}/cp`), n)
  const dropped = [...w.stderr.matchAll(/dropped the oldest segment, (\d+) event\(s\)/g)].reduce((s, m) => s + Number(m[1]), 0)
  t.ok(dropped > 0 && dropped < n, `dropped ${dropped}`)
  const seqs = await readAll(t, dir, n - dropped)
  t.equal(seqs.length, n - dropped, 'what was not dropped is delivered')
  t.equal(seqs.at(-1), n, 'the newest events were kept')
  t.ok(increasing(seqs), 'in order, once')
})
