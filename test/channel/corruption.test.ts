import t, { type Test } from 'tap'
import { mkdirSync, readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs'
import { sh } from '../fixtures/procs.js'
import { buildChannel, drain, ended, missing, seqsIn, tsf } from './helpers.js'

// Damage to a stopped channel's files: the channel recovers every intact record and says in one
// line what it skipped, or refuses to start naming the file. Never a stack trace, never a silent
// loss, never a hang (drain() fails the test if the channel does not finish).

const noStack = (t: Test, stderr: string): void => {
  t.notMatch(stderr, /\n\s+at /, 'no stack trace')
  t.notMatch(stderr, /internal error/, 'no internal error')
}

// Sets the length field of a record so that it points far past the end of the file.
const badLength = (path: string, start: number, block: boolean): void => {
  const bytes = readFileSync(path)
  bytes.writeUInt32LE(((block ? 0x80000000 : 0) | (50 * 1024 * 1024)) >>> 0, start)
  writeFileSync(path, bytes)
}

for (const single of [true, false]) {
  const kind = single ? 'single-event records (format 1)' : 'block records'
  t.test(`${kind}: a bad length field in a sealed segment costs only its own record`, async (t) => {
    const dir = t.testdir()
    const built = buildChannel(`${dir}/q`, { events: 300, perRecord: 10, perSegment: 100, single })
    const victim = built.records.find((r) => r.segment === built.segments[0] && r.first >= 40)!
    badLength(victim.segment, victim.start, !single)
    const run = await drain(t, `${dir}/q`, `${dir}/out`)
    t.equal(run.code, 0, run.stderr)
    noStack(t, run.stderr)
    const lost = Array.from({ length: victim.count }, (_, k) => victim.first + k + 1)
    t.same(missing(seqsIn(`${dir}/out`), 300), lost, 'only the damaged record is missing, the rest of its segment is delivered')
    t.match(
      run.stderr,
      new RegExp(`corrupt record at byte ${victim.start}: ${victim.count} event\\(s\\) skipped, bytes kept in .*quarantine`),
    )
  })

  t.test(`${kind}: a bad length field in the active segment does not make the reader wait for ever`, async (t) => {
    const dir = t.testdir()
    const built = buildChannel(`${dir}/q`, { events: 200, perRecord: 10, single })
    const victim = built.records[5]!
    badLength(victim.segment, victim.start, !single)
    const run = await drain(t, `${dir}/q`, `${dir}/out`)
    t.equal(run.code, 0, run.stderr)
    noStack(t, run.stderr)
    t.same(
      missing(seqsIn(`${dir}/out`), 200),
      Array.from({ length: victim.count }, (_, k) => victim.first + k + 1),
    )
    t.match(run.stderr, /corrupt record at byte \d+: \d+ event\(s\) skipped/)
  })
}

t.test('a sealed segment emptied or cut short: the events it held are said missing, the rest is delivered', async (t) => {
  const dir = t.testdir()
  const built = buildChannel(`${dir}/q`, { events: 300, perRecord: 10, perSegment: 100 })
  writeFileSync(built.segments[0]!, '')
  const cut = built.records.find((r) => r.segment === built.segments[1] && r.first === 150)!
  truncateSync(built.segments[1]!, cut.start + 7) // inside a record
  const run = await drain(t, `${dir}/q`, `${dir}/out`)
  t.equal(run.code, 0, run.stderr)
  noStack(t, run.stderr)
  const got = seqsIn(`${dir}/out`)
  t.same(missing(got, 300), [...Array.from({ length: 100 }, (_, k) => k + 1), ...Array.from({ length: 50 }, (_, k) => 151 + k)])
  t.match(run.stderr, /00000000000000000000\.seg: 100 event\(s\) missing/, 'the emptied segment is named with what it lost')
  t.match(
    run.stderr,
    /00000000000000000100\.seg: 50 event\(s\) skipped in 7 bad bytes at its end/,
    'the cut record is kept and said, with what it cost',
  )
})

for (const [what, content] of [
  ['emptied', ''],
  ['truncated', '{"index":150,"segm'],
  ['of the wrong shape', '[150,100,0]'],
  ['with a negative index', '{"index":-5,"segment":100,"pos":0}'],
  ['binary', '\u0000\u00ff\u0001garbage'],
  ['with a bit flipped in a digit', 'FLIP'],
] as const) {
  t.test(`an offset file ${what}: one line naming it, and the reader starts over from the oldest record`, async (t) => {
    const dir = t.testdir()
    buildChannel(`${dir}/q`, { events: 300, perRecord: 10, perSegment: 100 })
    // a real offset first (the channel writes it), then damaged
    const first = await drain(t, `${dir}/q`, `${dir}/first`)
    t.equal(first.code, 0, first.stderr)
    const path = `${dir}/q/readers/r.offset`
    const valid = readFileSync(path, 'utf8')
    t.match(valid, /"crc":\d+/, 'offsets carry a checksum')
    writeFileSync(path, content === 'FLIP' ? valid.replace(/"index":(\d)/, (_, d: string) => `"index":${Number(d) ^ 1}`) : content)
    buildChannel(`${dir}/q`, { events: 300, perRecord: 10, perSegment: 100 })
    const run = await drain(t, `${dir}/q`, `${dir}/out`)
    t.equal(run.code, 0, run.stderr)
    noStack(t, run.stderr)
    t.match(run.stderr, new RegExp(`reader r: ${path.replace(/[.]/g, '\\.')}: .*reading from the oldest record`), run.stderr)
    t.same(missing(seqsIn(`${dir}/out`), 300), [], 'nothing lost: everything is sent again')
  })
}

t.test('a directory where a segment should be: the channel refuses to start, naming it', async (t) => {
  const dir = t.testdir()
  buildChannel(`${dir}/q`, { events: 100, perRecord: 10, perSegment: 50 })
  mkdirSync(`${dir}/q/00000000000000000200.seg`)
  const run = await ended(sh(t, `${tsf} channel --dir ${dir}/q --reader r < /dev/null > /dev/null`))
  t.not(run.code, 0)
  noStack(t, run.stderr)
  t.match(run.stderr, /tsf channel: .*00000000000000000200\.seg: not a regular file/)
  t.equal(readdirSync(`${dir}/q`).filter((f) => f.endsWith('.seg')).length, 3, 'nothing was deleted')
})
