import t from 'tap'
import { sourceEventHead } from '../../../src/core/event.js'
import { headStrings } from '../../../src/core/head-block.js'
import { LineBlock } from '../../../src/sources/file/line-block.js'
import { fuzz, mutations } from '../../fixtures/fuzz.js'

const envelope = ',"host":"h","headers":{"file":"/var/log/ä.log"}'
const middle = Buffer.from(`","ts":5${envelope},"src":"s.1","seq":`)

// What the per-line path makes of each complete line of region.
const perLine = (region: Buffer, seq0: number, pos0: number): string[] => {
  const out: string[] = []
  let start = 0
  let seq = seq0
  while (start < region.length) {
    const nl = region.indexOf(10, start)
    out.push(sourceEventHead(region.subarray(start, nl), { ts: 5, src: 's.1', seq: ++seq, pos: pos0 + nl + 1 }, envelope))
    start = nl + 1
  }
  return out
}

t.test('blocks of at most `group` events, numbered and placed like the per-line path', async (t) => {
  const region = Buffer.from('a\n"q"\n\n\tb\\c\n✓ ü\n')
  const blocks = LineBlock.split(region, 2, 100, middle, 10, 1000)!
  t.same(
    blocks.map((b) => b.length),
    [2, 2, 1],
  )
  t.same(
    blocks.map((b) => b.end),
    [1000 + 6, 1000 + 12, 1000 + region.length],
  )
  t.same(
    blocks.flatMap((b) => headStrings(b)),
    perLine(region, 10, 1000),
  )
})

t.test('invalid UTF-8 or a line over maxLine: no blocks (the careful path takes the region)', async (t) => {
  t.equal(LineBlock.split(Buffer.from([0x61, 0xff, 0x0a]), 10, 100, middle, 0, 0), undefined)
  t.equal(LineBlock.split(Buffer.from('short\nmuch too long\n'), 10, 5, middle, 0, 0), undefined)
})

fuzz(t, 'LineBlock renders exactly what sourceEventHead makes of each line', { cases: 1500 }, (rng) => {
  const lines: Buffer[] = []
  for (let i = rng.int(1, 6); i > 0; i--) {
    const line = rng.pick([rng.bytes(rng.int(0, 40)), ...mutations(rng, 'GET /é "q" \\ 200\t✓ \u0001 \u007f')])
    lines.push(Buffer.from(line.toString('latin1').replaceAll('\n', ' '), 'latin1'))
  }
  const region = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]))
  const blocks = LineBlock.split(region, rng.int(1, 4), 1000, middle, 7, 3)
  if (!blocks) return // not valid UTF-8: the per-line path takes it
  const got = blocks.flatMap((b) => headStrings(b))
  const want = perLine(region, 7, 3)
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`differ: ${JSON.stringify(got)} vs ${JSON.stringify(want)}`)
  for (const h of got) JSON.parse(h + '}')
})

fuzz(t, 'long hostile lines (the 16-byte steps of the WebAssembly escaper) render as sourceEventHead', { cases: 600 }, (rng) => {
  const lines: Buffer[] = []
  for (let i = rng.int(1, 5); i > 0; i--) {
    const parts: Buffer[] = []
    for (let k = rng.int(0, 12); k > 0; k--)
      parts.push(
        rng.pick([
          Buffer.alloc(rng.int(0, 50), 0x61),
          Buffer.from(rng.nastyString(rng.int(0, 8)).replaceAll('\n', ' ')),
          Buffer.from('"\\\u0000\u001f\u007f✓😀\u2028é'),
          rng.bytes(rng.int(0, 3)),
        ]),
      )
    lines.push(Buffer.from(Buffer.concat(parts).toString('latin1').replaceAll('\n', ' '), 'latin1'))
  }
  const region = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]))
  const blocks = LineBlock.split(region, rng.int(1, 4), 4000, middle, 7, 3)
  if (!blocks) return // not valid UTF-8: the per-line path takes it
  const got = blocks.flatMap((b) => headStrings(b))
  const want = perLine(region, 7, 3)
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`differ: ${JSON.stringify(got)} vs ${JSON.stringify(want)}`)
})

t.test('a line too long for the escaper and a region over its size take the JavaScript path: same heads', async (t) => {
  const long = Buffer.concat([Buffer.alloc(700_000, 0x61), Buffer.from('"\u0001é\n')])
  const many = Buffer.from(`${'x"y\\z\t'.repeat(30)}\n`.repeat(6000)) // over 1 MiB
  for (const region of [long, many, Buffer.concat([Buffer.from('short "one"\n'), long])]) {
    const blocks = LineBlock.split(region, 1024, 1 << 20, middle, 0, 0)!
    t.same(
      blocks.flatMap((b) => headStrings(b)),
      perLine(region, 0, 0),
    )
  }
})

// What a writer without cursors makes of a block through lineRun()/renderRun(): runs of lines
// that fit `room`, each head followed by "}" and the newline; a line no run takes (longer than
// `max`, or than the room) rendered alone as render() does.
const byRuns = (block: LineBlock, room: number, max: number): string => {
  const parts: Buffer[] = []
  for (let i = 0; i < block.length; ) {
    const k = block.lineRun(i, room, max)
    if (k === 0) {
      const buf = Buffer.alloc(block.size(i) + 2)
      const at = block.render(i, buf, 0)
      parts.push(buf.subarray(0, at), Buffer.from('}\n'))
      i++
      continue
    }
    const buf = Buffer.alloc(room)
    parts.push(buf.subarray(0, block.renderRun(i, k, buf, 0)))
    i += k
  }
  return Buffer.concat(parts).toString()
}

fuzz(t, 'lineRun and renderRun give the lines render() gives, each closed, in order', { cases: 800 }, (rng) => {
  const lines: Buffer[] = []
  for (let i = rng.int(1, 30); i > 0; i--) {
    const line = rng.pick([
      rng.bytes(rng.int(0, 300)),
      Buffer.alloc(rng.int(0, 3000), 0x61),
      ...mutations(rng, 'GET /é "q" \\ 200\t✓ \u0001 \u007f'),
    ])
    lines.push(Buffer.from(line.toString('latin1').replaceAll('\n', ' '), 'latin1'))
  }
  const region = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]))
  const blocks = LineBlock.split(region, rng.int(1, 40), 1 << 20, middle, 7, 3)
  if (!blocks) return // not valid UTF-8: the per-line path takes it
  const room = rng.int(200, 40_000)
  const max = rng.int(100, 20_000)
  const got = blocks.map((b) => byRuns(b, room, max)).join('')
  const want = perLine(region, 7, 3)
    .map((h) => `${h}}\n`)
    .join('')
  if (got !== want) throw new Error(`differ: ${JSON.stringify(got)} vs ${JSON.stringify(want)}`)
})

t.test('lineRun takes no line whose head may be over `max`, and no more than `room` holds', async (t) => {
  const region = Buffer.from(`${'a'.repeat(100)}\n${'b'.repeat(10)}\n${'c'.repeat(5000)}\n`)
  const block = LineBlock.split(region, 1024, 1 << 20, middle, 0, 0)![0]!
  const bound = (i: number): number => block.size(i) + 2
  t.equal(block.lineRun(0, 1 << 20, 1 << 20), 3)
  t.equal(block.lineRun(0, bound(0) + bound(1), 1 << 20), 2)
  t.equal(block.lineRun(0, bound(0) + bound(1) - 1, 1 << 20), 1)
  t.equal(block.lineRun(0, 1 << 20, block.size(1)), 0, 'the first line is over max')
  t.equal(block.lineRun(1, 1 << 20, block.size(1)), 1, 'stops before the long line')
  t.equal(block.lineRun(2, bound(2) - 1, 1 << 20), 0)
})
