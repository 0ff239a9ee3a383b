import t from 'tap'
import { mkdtempSync, openSync, rmSync, truncateSync, writeFileSync, writeSync, closeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeBlockLines, encodeRecords } from '../../src/channel/record.js'
import { endIndex } from '../../src/channel/recovery.js'
import { segmentPath } from '../../src/channel/segments.js'

// endIndex steps over records by their length: the same end as reading every byte, for blocks
// larger and smaller than its reads, old single-event records, and damaged or torn tails.

const dir = mkdtempSync(join(tmpdir(), 'tsf-end-index-'))
t.teardown(() => rmSync(dir, { recursive: true, force: true }))

const lines = (from: number, n: number, len: number): Buffer =>
  Buffer.from(Array.from({ length: n }, (_, k) => `{"body":"${from + k} ${'x'.repeat(len)}"\n`).join(''))

// records of `sizes` events each (block lines of `len` bytes); 0 means one single-event record
const segment = (base: number, sizes: number[], len: number): { bytes: Buffer; ends: number[]; next: number } => {
  const parts: Buffer[] = []
  const ends: number[] = [] // byte end of each record
  let index = base
  let at = 0
  for (const n of sizes) {
    const rec = n === 0 ? encodeRecords(['{"body":"a"'], index, 1) : encodeBlockLines(lines(index, n, len), n, index, 1)
    index += n === 0 ? 1 : n
    parts.push(rec)
    at += rec.length
    ends.push(at)
  }
  return { bytes: Buffer.concat(parts), ends, next: index }
}

t.test('whole segments: big blocks, small blocks, single-event records, mixed', async (t) => {
  const cases: [string, number[], number][] = [
    ['blocks of ~1 MiB', [3000, 3000, 2500, 1], 330],
    ['blocks of ~3 KiB', Array.from({ length: 400 }, () => 10), 300],
    ['single-event records', Array.from({ length: 5000 }, () => 0), 0],
    ['mixed', [0, 5000, 0, 0, 7, 20000, 0, 1], 200],
  ]
  for (const [what, sizes, len] of cases) {
    const base = 1000
    const s = segment(base, sizes, len)
    writeFileSync(segmentPath(dir, base), s.bytes)
    t.equal(endIndex(dir, base), s.next, what)
  }
})

t.test('a torn last record, or damage inside one: the end after the last whole record before it', async (t) => {
  const base = 50
  const s = segment(base, [2000, 0, 4000, 9, 3000], 250)
  const path = segmentPath(dir, base)
  // cut inside each record: the end is that of the record before
  let before = base
  const firsts = [base]
  for (const n of [2000, 0, 4000, 9, 3000]) firsts.push(firsts.at(-1)! + (n === 0 ? 1 : n))
  for (let r = 0; r < s.ends.length; r++) {
    const start = r === 0 ? 0 : s.ends[r - 1]!
    for (const cut of [start + 5, start + 30, Math.floor((start + s.ends[r]!) / 2), s.ends[r]! - 1]) {
      writeFileSync(path, s.bytes)
      truncateSync(path, cut)
      t.equal(endIndex(dir, base), before, `cut at byte ${cut}, in record ${r}`)
    }
    before = firsts[r + 1]!
  }
  // a length field zeroed in the middle: the records after it are found again (resync)
  writeFileSync(path, s.bytes)
  const fd = openSync(path, 'r+')
  writeSync(fd, Buffer.alloc(4), 0, 4, s.ends[1]!)
  closeSync(fd)
  t.equal(endIndex(dir, base), s.next, 'past a damaged header to the real end')
})
