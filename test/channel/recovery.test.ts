import t from 'tap'
import { appendFileSync, readdirSync, readFileSync, writeFileSync } from 'node:fs'
import { sh } from '../fixtures/procs.js'
import { checkRecord, encodeBlock } from '../../src/channel/record.js'
import { buildChannel, drain, ended, linkReader, missing, replayWriter, seqsIn, tsf } from './helpers.js'

// Damage injected into the segment files of a stopped channel: a flipped byte in a sealed
// segment and a torn record at the end of the active one. The channel starts anyway, cuts the
// torn tail, quarantines the bad record and delivers everything else.
t.test('a torn last record is cut off and a corrupt record is quarantined, the rest is delivered', async (t) => {
  const dir = t.testdir()
  const q = `${dir}/q`
  const n = 2000
  const w = await ended(
    sh(t, `${replayWriter} ${n} ${dir}/cp | ${tsf} channel --dir ${q} --write-only --reader r --segment-size 16K`),
    30_000,
  )
  t.equal(w.code, 0, w.stderr)
  const segments = readdirSync(q)
    .filter((f) => f.endsWith('.seg'))
    .sort()
  t.ok(segments.length > 2, `${segments.length} segments`)

  // flip one byte inside the payload of the first record (a block of events) of the second
  // (sealed) segment: every event of that block is lost, and only those
  const first = `${q}/${segments[1]}`
  const bytes = readFileSync(first)
  let at = 0
  const victims: number[] = []
  for (let i = 0; i < 1; i++) {
    const c = checkRecord(bytes, at, bytes.length)
    if (c.kind !== 'ok') throw new Error('the segment should be intact')
    if (i === 0) {
      for (let k = 0; k < c.record.count; k++) victims.push(c.record.index + k + 1)
      bytes[c.record.start + 30] ^= 0x01
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
    next = c.record.index + c.record.count
    p = c.record.end
  }
  appendFileSync(active, encodeBlock(['{"body":"never acked"'], next, Date.now()).subarray(0, 30))

  const run = await ended(sh(t, `${tsf} channel --dir ${q} --reader r < /dev/null | ${linkReader} ${dir}/out`), 30_000)
  t.notMatch(run.stderr, /error/, run.stderr)
  t.match(run.stderr, /cut off a torn or corrupt last record at byte \d+ \(30 bytes, kept in .*quarantine/)
  // (when the block was the only record of its segment, its bad bytes are that segment's end)
  const n1 = victims.length
  t.match(
    run.stderr,
    new RegExp(
      `${segments[1]}: (corrupt record at byte 0: ${n1} event\\(s\\) skipped, bytes|${n1} event\\(s\\) skipped in \\d+ bad bytes at its end \\(byte 0\\),) kept in .*quarantine`,
    ),
  )
  const seqs = seqsIn(`${dir}/out`)
  t.same(missing(seqs, n), victims, 'only the events of the corrupt record are missing')
  t.equal(seqs.length, n - victims.length, 'each of the others once')
  t.equal(readdirSync(`${q}/quarantine`).length, 2, 'both damaged pieces are kept for inspection')

  // the channel keeps working after recovery: new events append after the cut
  const more = await ended(
    sh(t, `${replayWriter} ${n + 100} ${dir}/cp | ${tsf} channel --dir ${q} --reader r | ${linkReader} ${dir}/out`),
    30_000,
  )
  t.notMatch(more.stderr, /error/)
  t.same(missing(seqsIn(`${dir}/out`), n + 100), victims)
})

// Segments written before block records (format 1, one record per event) are still read, and a
// channel appends blocks after them in the same active segment.
t.test('a channel written in the single-event record format is read, and grows on in blocks', async (t) => {
  const dir = t.testdir()
  const q = `${dir}/q`
  buildChannel(q, { events: 250, perSegment: 100, single: true, offsets: { r: { index: 30, segment: 0, pos: 0 } } })
  const run = await drain(t, q, `${dir}/out`)
  t.equal(run.code, 0, run.stderr)
  t.notMatch(run.stderr, /corrupt|missing|unknown/, run.stderr)
  t.same(
    seqsIn(`${dir}/out`),
    Array.from({ length: 220 }, (_, k) => k + 31),
    'from the old offset on, in order, once',
  )
  // a writer appends blocks to the old active segment; the reader goes on from there
  const more = await ended(
    sh(t, `${replayWriter} 300 ${dir}/cp | ${tsf} channel --dir ${q} --reader r | ${linkReader} ${dir}/out2`),
    30_000,
  )
  t.equal(more.code, 0, more.stderr)
  t.equal(seqsIn(`${dir}/out2`).length, 300)
  const active = readdirSync(q)
    .filter((f) => f.endsWith('.seg'))
    .sort()
    .at(-1)!
  const bytes = readFileSync(`${q}/${active}`)
  const kinds = new Set<boolean>()
  for (let at = 0; at < bytes.length; ) {
    const c = checkRecord(bytes, at, bytes.length)
    if (c.kind !== 'ok') throw new Error(`record at ${at}: ${c.kind}`)
    kinds.add(c.record.block)
    at = c.record.end
  }
  t.same([...kinds].sort(), [false, true], 'old records then blocks in one segment')
})
