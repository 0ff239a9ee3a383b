import t from 'tap'
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { sh } from '../fixtures/procs.js'
import { checkRecord, encodeRecords } from '../../src/channel/record.js'
import { ended, linkReader, missing, replayWriter, seqsIn, tsf } from './helpers.js'

// Damage injected into the segment files of a stopped channel: a flipped byte in a sealed
// segment and a torn record at the end of the active one. The channel starts anyway, cuts the
// torn tail, quarantines the bad record and delivers everything else.
t.test('a torn last record is cut off and a corrupt record is quarantined, the rest is delivered', async (t) => {
  const dir = t.testdir()
  const q = `${dir}/q`
  const n = 2000
  const w = await ended(sh(t, `${replayWriter} ${n} ${dir}/cp | ${tsf} channel --dir ${q} --write-only --reader r --segment-size 16K`), 30_000)
  t.equal(w.code, 0, w.stderr)
  const segments = readdirSync(q).filter((f) => f.endsWith('.seg')).sort()
  t.ok(segments.length > 2, `${segments.length} segments`)

  // flip one byte inside the payload of the 10th record of the first (sealed) segment
  const first = `${q}/${segments[0]}`
  const bytes = readFileSync(first)
  let at = 0
  let victim = -1
  for (let i = 0; i < 10; i++) {
    const c = checkRecord(bytes, at, bytes.length)
    if (c.kind !== 'ok') throw new Error('the segment should be intact')
    if (i === 9) {
      victim = c.record.index
      bytes[c.record.start + 25] ^= 0x01
    }
    at = c.record.end
  }
  writeFileSync(first, bytes)

  // a record cut short at the end of the active segment, as a power loss leaves it
  const active = `${q}/${segments.at(-1)}`
  const whole = readFileSync(active)
  let next = 0
  for (let p = 0; p < whole.length; ) {
    const c = checkRecord(whole, p, whole.length)
    if (c.kind !== 'ok') break
    next = c.record.index + 1
    p = c.record.end
  }
  appendFileSync(active, encodeRecords(['{"body":"never acked"'], next, Date.now()).subarray(0, 30))

  const run = await ended(sh(t, `${tsf} channel --dir ${q} --reader r < /dev/null | ${linkReader} ${dir}/out`), 30_000)
  t.notMatch(run.stderr, /error/, run.stderr)
  t.match(run.stderr, /cut off a torn or corrupt last record at byte \d+ \(30 bytes, kept in .*quarantine/)
  t.match(run.stderr, /corrupt record at byte \d+: 1 event\(s\) skipped, bytes kept in .*quarantine/)
  const seqs = seqsIn(`${dir}/out`)
  t.same(missing(seqs, n), [victim + 1], 'only the corrupt record is missing')
  t.equal(seqs.length, n - 1, 'each of the others once')
  t.equal(readdirSync(`${q}/quarantine`).length, 2, 'both damaged pieces are kept for inspection')

  // the channel keeps working after recovery: new events append after the cut
  const more = await ended(sh(t, `${replayWriter} ${n + 100} ${dir}/cp | ${tsf} channel --dir ${q} --reader r | ${linkReader} ${dir}/out`), 30_000)
  t.notMatch(more.stderr, /error/)
  t.same(missing(seqsIn(`${dir}/out`), n + 100), [victim + 1])
})
