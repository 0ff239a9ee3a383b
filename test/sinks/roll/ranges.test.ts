import t from 'tap'
import { RangeSet } from '../../../src/sinks/roll/ranges.js'

t.test('in-order seqs make one range', async (t) => {
  const r = new RangeSet()
  for (let i = 1; i <= 1000; i++) r.add(i)
  t.same(r.ranges, [[1, 1000]])
  t.ok(r.has(1))
  t.ok(r.has(1000))
  t.notOk(r.has(0))
  t.notOk(r.has(1001))
})

t.test('out-of-order seqs stay exact: a gap is not "seen"', async (t) => {
  const r = new RangeSet()
  for (const i of [10, 11, 12, 1, 2, 3, 20, 5]) r.add(i)
  t.same(r.ranges, [
    [1, 3],
    [5, 5],
    [10, 12],
    [20, 20],
  ])
  t.notOk(r.has(4))
  t.notOk(r.has(13))
  t.ok(r.has(11))
  r.add(4)
  t.same(r.ranges, [
    [1, 5],
    [10, 12],
    [20, 20],
  ])
  r.addRange(6, 19)
  t.same(r.ranges, [[1, 20]])
})

t.test('random order against a plain set', async (t) => {
  const r = new RangeSet()
  const seen = new Set<number>()
  let seed = 42
  const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n
  for (let i = 0; i < 5000; i++) {
    const v = rand(3000) + 1
    t.equal(r.has(v), seen.has(v), `has ${v}`)
    r.add(v)
    seen.add(v)
  }
  for (let v = 0; v <= 3001; v++) if (r.has(v) !== seen.has(v)) t.fail(`mismatch at ${v}`)
  for (let i = 1; i < r.ranges.length; i++) t.ok(r.ranges[i]![0] > r.ranges[i - 1]![1] + 1, 'ranges disjoint and not touching')
})

t.test('addAll merges two sets', async (t) => {
  const a = new RangeSet([
    [1, 5],
    [10, 10],
  ])
  a.addAll(
    new RangeSet([
      [6, 9],
      [12, 14],
    ]),
  )
  t.same(a.ranges, [
    [1, 10],
    [12, 14],
  ])
})
