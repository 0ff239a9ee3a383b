import t from 'tap'
import { existsSync, readdirSync } from 'node:fs'
import { loadOffset } from '../../src/channel/offsets.js'
import { readNumber, sh } from '../fixtures/procs.js'
import { ended, killGroup, linkReader, missing, replayWriter, seqsIn, stderrSays, tsf, until } from './helpers.js'

// Flume's replicating selector, durable: one write-only channel, two named readers that each get
// every event at their own pace, each from its own offset.
t.test('two named readers at different speeds each get every event', async (t) => {
  const dir = t.testdir()
  const n = 5000
  const q = `${dir}/q`
  const w = await ended(
    sh(t, `${replayWriter} ${n} ${dir}/cp | ${tsf} channel --dir ${q} --write-only --reader fast --reader slow --segment-size 16K`),
    60_000,
  )
  t.equal(w.code, 0, `the writer side ends once everything is on disk: ${w.stderr}`)
  t.equal(readNumber(`${dir}/cp`), n, 'every event was acked to the writer once stored')
  // the slow one takes at least three seconds per batch of the link reader (64K of events)
  const fast = sh(t, `${tsf} channel --dir ${q} --read-only --reader fast | ${linkReader} ${dir}/fast`)
  const slow = sh(t, `${tsf} channel --dir ${q} --read-only --reader slow | ${linkReader} ${dir}/slow --delay 3000`)
  await until(() => seqsIn(`${dir}/fast`).length >= n, 30_000, 'the fast reader')
  t.ok(seqsIn(`${dir}/slow`).length < n, 'the slow reader is behind when the fast one is done')
  // the fast reader's acks reach its offset file a moment after its lines arrive (saved every 100 ms)
  let stat = await ended(sh(t, `${tsf} channel --dir ${q} --stat`))
  for (let i = 0; i < 100 && stat.code === 0 && !/^reader fast +lag 0 events/m.test(stat.stdout); i++) {
    await new Promise((r) => setTimeout(r, 200))
    stat = await ended(sh(t, `${tsf} channel --dir ${q} --stat`))
  }
  t.equal(stat.code, 0)
  t.match(stat.stdout, /^reader fast +lag 0 events/m, stat.stdout)
  t.match(stat.stdout, /^reader slow +lag [1-9]\d* events/m, stat.stdout)
  t.match(stat.stdout, /^depth +[1-9]\d* events/m)
  t.match(stat.stdout, /^oldest +\d+(\.\d)?[smh] ago/m)
  await until(() => seqsIn(`${dir}/slow`).length >= n, 90_000, 'the slow reader')
  t.same(missing(seqsIn(`${dir}/fast`), n), [], 'fast: nothing missing')
  t.same(missing(seqsIn(`${dir}/slow`), n), [], 'slow: nothing missing')
  t.same(
    seqsIn(`${dir}/slow`),
    [...Array(n).keys()].map((i) => i + 1),
    'slow: in order, once',
  )
  // once both readers passed them, the sealed segments go away
  await until(() => readdirSync(q).filter((f) => f.endsWith('.seg')).length === 1, 10_000, 'consumed segments deleted')
  killGroup(fast)
  killGroup(slow)
  for (const r of [await ended(fast), await ended(slow)]) {
    t.match(r.stderr, /tsf channel: stopped on SIGTERM/, 'a reader stops cleanly on SIGTERM')
    t.notMatch(r.stderr, /error|went away/)
  }
  t.ok(existsSync(`${q}/readers/slow.offset`))
})

t.test('a restarted reader resumes at its durable offset', async (t) => {
  const dir = t.testdir()
  const q = `${dir}/q`
  const w = await ended(sh(t, `${replayWriter} 300 ${dir}/cp | ${tsf} channel --dir ${q} --write-only --reader r`), 30_000)
  t.equal(w.code, 0)
  const first = sh(t, `${tsf} channel --dir ${q} --read-only --reader r | ${linkReader} ${dir}/out`)
  await until(() => seqsIn(`${dir}/out`).length >= 300, 20_000, 'first read')
  await stderrSays(first, /ready/)
  // the reader acked all 300 (each fsynced before its ack): the channel saves that offset soon after
  await until(
    () => loadOffset(q, 'r')?.index === 300,
    20_000,
    'the offset file to hold the acked position',
    () => JSON.stringify(loadOffset(q, 'r')),
  )
  killGroup(first)
  await ended(first)
  await ended(sh(t, `${replayWriter} 400 ${dir}/cp | ${tsf} channel --dir ${q} --write-only`), 30_000)
  const second = sh(t, `${tsf} channel --dir ${q} --read-only --reader r | ${linkReader} ${dir}/out`)
  await until(() => seqsIn(`${dir}/out`).length >= 400, 20_000, 'second read')
  killGroup(second)
  await ended(second)
  t.same(
    seqsIn(`${dir}/out`),
    [...Array(400).keys()].map((i) => i + 1),
    'each event once, in order',
  )
})

// Stopped right after its reader acked: the channel either drains (saves at its end) or sees the
// reader gone first and exits at once; either way what was acked is saved, not sent again.
t.test('stopped right after the acks, the channel keeps the acked offset', async (t) => {
  const dir = t.testdir()
  const q = `${dir}/q`
  const w = await ended(sh(t, `${replayWriter} 300 ${dir}/cp | ${tsf} channel --dir ${q} --write-only --reader r`), 30_000)
  t.equal(w.code, 0)
  const run = sh(t, `${tsf} channel --dir ${q} --read-only --reader r | ${linkReader} ${dir}/out`)
  // once this offset is saved the link is up: from here the reader acks each batch right after its fsync
  await until(() => loadOffset(q, 'r')?.index === 300, 20_000, 'the first offset save')
  await ended(sh(t, `${replayWriter} 400 ${dir}/cp | ${tsf} channel --dir ${q} --write-only`), 30_000)
  await until(() => seqsIn(`${dir}/out`).length >= 400, 20_000, 'the next 100 events')
  killGroup(run)
  await ended(run)
  t.equal(loadOffset(q, 'r')?.index, 400, 'the offset file holds every acked event')
})
