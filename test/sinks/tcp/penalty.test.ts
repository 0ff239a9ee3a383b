import t from 'tap'
import { penaltyFor } from '../../../src/sinks/tcp/penalty.js'

t.test('penalties double per failure in a row, capped, with jitter below the cap', async (t) => {
  t.equal(penaltyFor(0, 30_000), 0)
  t.same(
    [1, 2, 3, 4].map((n) => penaltyFor(n, 30_000, () => 1)),
    [1000, 2000, 4000, 8000],
  )
  t.equal(
    penaltyFor(50, 30_000, () => 1),
    30_000,
  )
  t.equal(
    penaltyFor(3, 30_000, () => 0),
    3000,
    'jitter takes at most a quarter off',
  )
})
