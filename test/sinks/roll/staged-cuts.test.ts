// roll's cut places (staged.ts Cuts): pairs kept in reused arrays, intact across growth and reuse.
import t from 'tap'
import { Cuts } from '../../../src/sinks/roll/staged.js'

const fill = (cuts: Cuts, n: number, base: number): void => {
  for (let i = 0; i < n; i++) cuts.push(base + i * 200, i + 1)
}
const intact = (cuts: Cuts, n: number, base: number): boolean => {
  if (cuts.length !== 2 * n) return false
  for (let i = 0; i < n; i++) if (cuts.at(2 * i) !== base + i * 200 || cuts.at(2 * i + 1) !== i + 1) return false
  return true
}

t.test('pairs stay in order and intact while the array grows, and after it is reused', async (t) => {
  const a = new Cuts()
  fill(a, 50_000, 7)
  t.ok(intact(a, 50_000, 7), '50,000 pairs after several growths')
  a.release()
  t.equal(a.length, 0, 'released: empty')
  const b = new Cuts()
  fill(b, 30_000, 2 ** 33) // beyond 32 bits: a group staged under long back pressure
  t.ok(intact(b, 30_000, 2 ** 33), 'a reused array holds only the new pairs')
  const c = new Cuts()
  fill(c, 10, 0)
  t.ok(intact(c, 10, 0), 'a second one at the same time is its own')
  t.ok(intact(b, 30_000, 2 ** 33), 'and did not touch the first')
})
