import t from 'tap'
import { CONT, LineFramer, TRUNCATED, WHOLE, type PieceKind } from '../../../src/sources/tail/line-framer.js'

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
  t.same(frame(['ab', 'c\nde', 'f\n', '\n'], 10), [['abc', 4, WHOLE], ['def', 8, WHOLE], ['', 9, WHOLE]])
})

t.test('an oversize line is cut into cont pieces that each end where a restart would resume', async (t) => {
  t.same(frame(['abcdefgh', 'ij\nk\n'], 4), [['abcd', 4, CONT], ['efgh', 8, CONT], ['ij', 11, WHOLE], ['k', 13, WHOLE]])
  t.same(frame(['abcdefgh', 'ij\nk\n'], 4), frame(['a', 'bcdefghij\n', 'k\n'], 4), 'the same cuts whatever the chunks')
})

t.test('a cut never splits a UTF-8 character', async (t) => {
  const out = frame(['aéé\n'], 4) // a, é (2 bytes), é (2 bytes)
  t.same(out.map((p) => p[0]), ['aé', 'é'])
  t.same(out.map((p) => p[1]), [3, 6])
})

t.test('with truncate the kept piece waits for the newline: its checkpoint lies past the dropped rest', async (t) => {
  t.same(frame(['abcdef', 'gh\nok\n'], 4, true), [['abcd', 9, TRUNCATED], ['ok', 12, WHOLE]])
})

t.test('the unterminated end is emitted only when asked (end of file without -F)', async (t) => {
  t.same(frame(['a\nbc'], 10), [['a', 2, WHOLE]])
  t.same(frame(['a\nbc'], 10, false, 4), [['a', 2, WHOLE], ['bc', 4, WHOLE]])
})
