import t from 'tap'
import { Multiline } from '../../../src/sources/tail/multiline.js'
import { CONT, WHOLE, type PieceKind } from '../../../src/core/lines.js'

const run = (lines: [string, PieceKind?][], max = 1000): [string, number][] => {
  const m = new Multiline(/^\d/, max)
  const out: [string, number][] = []
  let end = 0
  for (const [l, kind] of lines) {
    end += l.length + 1
    m.push(Buffer.from(l), end, kind ?? WHOLE, (b, e) => out.push([b.toString(), e]))
  }
  m.flush((b, e) => out.push([b.toString(), e]))
  return out
}

t.test('lines that do not start an event are appended; the offset is past the last line', async (t) => {
  t.same(run([['1 a'], ['  x'], ['  y'], ['2 b']]), [
    ['1 a\n  x\n  y', 12],
    ['2 b', 16],
  ])
})

t.test('leading continuation lines form an event of their own', async (t) => {
  t.same(run([['orphan'], ['1 a']]), [
    ['orphan', 7],
    ['1 a', 11],
  ])
})

t.test('an event that would pass the max size is emitted and a new one started', async (t) => {
  t.same(run([['1 aaaa'], ['bbbb'], ['cccc']], 12), [
    ['1 aaaa\nbbbb', 12],
    ['cccc', 17],
  ])
})

t.test('pieces of an oversize line pass through on their own', async (t) => {
  t.same(run([['1 a'], ['xx', CONT], ['yy']]), [
    ['1 a', 4],
    ['xx', 7],
    ['yy', 10],
  ])
})
