import t from 'tap'
import { CONT, LineFramer, LineSplitter, TRUNCATED, WHOLE, type LinePiece, type PieceKind } from '../../src/core/lines.js'

const split = (chunks: (string | Buffer)[], maxLine: number, truncate = false) => {
  let oversize = 0
  const s = new LineSplitter({ maxLine, truncate, onOversize: () => oversize++ })
  const out: LinePiece[] = []
  for (const c of chunks) s.push(Buffer.isBuffer(c) ? c : Buffer.from(c), (p) => out.push(p))
  const rest = s.rest()
  return { out: out.map((p) => ({ ...p, bytes: p.bytes.toString() })), rest: rest?.toString(), oversize }
}

t.test('whole lines, lines across chunks, and an unterminated rest', async (t) => {
  const r = split(['a\nbb', 'b\nc', 'cc\nd'], 100)
  t.same(r.out, [{ bytes: 'a' }, { bytes: 'bbb' }, { bytes: 'ccc' }])
  t.equal(r.rest, 'd')
  t.same(split(['\n\n'], 10).out, [{ bytes: '' }, { bytes: '' }], 'empty lines are lines')
})

t.test('an oversize line is cut into cont pieces that join back exactly', async (t) => {
  const line = 'x'.repeat(25)
  const r = split([line.slice(0, 7), line.slice(7) + '\nnext\n'], 10)
  t.same(
    r.out
      .map((p) => p.bytes)
      .slice(0, 3)
      .join(''),
    line,
  )
  t.same(
    r.out.map((p) => Boolean(p.cont)),
    [true, true, false, false],
  )
  t.equal(r.out[3]!.bytes, 'next')
  t.equal(r.oversize, 1, 'counted once per line')
})

t.test('with truncate, the rest of an oversize line is dropped and flagged', async (t) => {
  const r = split(['y'.repeat(30) + '\nok\n'], 10, true)
  t.same(r.out, [{ bytes: 'y'.repeat(10), truncated: true }, { bytes: 'ok' }])
})

t.test('a cut never splits a UTF-8 character', async (t) => {
  const line = 'aé'.repeat(10) // 'é' is 2 bytes
  const s = new LineSplitter({ maxLine: 4 })
  const pieces: Buffer[] = []
  s.push(Buffer.from(line + '\n'), (p) => pieces.push(p.bytes))
  for (const p of pieces) t.equal(Buffer.from(p.toString('utf8')).equals(p), true, 'each piece is valid UTF-8')
  t.equal(Buffer.concat(pieces).toString(), line)
})

t.test('memory stays bounded for a 10 MB line without a newline', async (t) => {
  const s = new LineSplitter({ maxLine: 1024 * 1024 })
  let pieces = 0
  const chunk = Buffer.alloc(64 * 1024, 0x41)
  for (let i = 0; i < 160; i++) {
    s.push(chunk, () => pieces++)
    t.ok(s.buffered <= 1024 * 1024) || t.bailout()
  }
  t.equal(pieces, 9)
})

// LineFramer, with the offset just past each piece (what tail and spool checkpoint)

type Piece = [string, number, PieceKind]
const frame = (chunks: string[], max: number, truncate = false, flushAt?: number): Piece[] => {
  const f = new LineFramer(max, truncate)
  const out: Piece[] = []
  let at = 0
  for (const c of chunks) {
    const b = Buffer.from(c)
    f.push(b, at, (bytes, end, kind) => out.push([bytes.toString(), end, kind]))
    at += b.length
  }
  if (flushAt !== undefined) f.flush(flushAt, (bytes, end, kind) => out.push([bytes.toString(), end, kind]))
  return out
}

t.test('lines split across chunks come out whole, each with the offset just past it', async (t) => {
  t.same(frame(['ab', 'c\nde', 'f\n', '\n'], 10), [
    ['abc', 4, WHOLE],
    ['def', 8, WHOLE],
    ['', 9, WHOLE],
  ])
})

t.test('an oversize line is cut into cont pieces that each end where a restart would resume', async (t) => {
  t.same(frame(['abcdefgh', 'ij\nk\n'], 4), [
    ['abcd', 4, CONT],
    ['efgh', 8, CONT],
    ['ij', 11, WHOLE],
    ['k', 13, WHOLE],
  ])
  t.same(frame(['abcdefgh', 'ij\nk\n'], 4), frame(['a', 'bcdefghij\n', 'k\n'], 4), 'the same cuts whatever the chunks')
})

t.test('a cut never splits a UTF-8 character', async (t) => {
  const out = frame(['aéé\n'], 4) // a, é (2 bytes), é (2 bytes)
  t.same(
    out.map((p) => p[0]),
    ['aé', 'é'],
  )
  t.same(
    out.map((p) => p[1]),
    [3, 6],
  )
})

t.test('with truncate the kept piece waits for the newline: its checkpoint lies past the dropped rest', async (t) => {
  t.same(frame(['abcdef', 'gh\nok\n'], 4, true), [
    ['abcd', 9, TRUNCATED],
    ['ok', 12, WHOLE],
  ])
})

t.test('the unterminated end is emitted only when asked (end of file without -F)', async (t) => {
  t.same(frame(['a\nbc'], 10), [['a', 2, WHOLE]])
  t.same(frame(['a\nbc'], 10, false, 4), [
    ['a', 2, WHOLE],
    ['bc', 4, WHOLE],
  ])
})
