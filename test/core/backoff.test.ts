import t from 'tap'
import { Backoff, backoffDelay } from '../../src/core/backoff.js'

t.test('waits double per failure in a row, capped at max', async (t) => {
  const policy = { initial: 200, max: 1000 }
  t.equal(backoffDelay(0, policy), 0, 'no wait before the first try')
  t.same(
    [1, 2, 3, 4, 5].map((n) => backoffDelay(n, policy)),
    [200, 400, 800, 1000, 1000],
  )
  t.equal(backoffDelay(5000, { initial: 1000, max: 30_000 }), 30_000, 'a long run of failures stays at the cap')
})

t.test('jitter takes at most its share off each wait', async (t) => {
  const policy = { initial: 1000, max: 30_000, jitter: 0.25 }
  t.same(
    [1, 2, 3].map((n) => backoffDelay(n, policy, () => 1)),
    [1000, 2000, 4000],
    'the top of the range is the whole wait',
  )
  t.equal(
    backoffDelay(3, policy, () => 0),
    3000,
    'the bottom is 75% with jitter 0.25',
  )
  t.equal(
    backoffDelay(1, { initial: 200, max: 2000, jitter: 0.5 }, () => 0),
    100,
    'and 50% with jitter 0.5',
  )
  const seen = new Set(Array.from({ length: 50 }, () => backoffDelay(4, policy)))
  t.ok(seen.size > 1, 'Math.random spreads the waits by default')
  for (const d of seen) t.ok(d >= 6000 && d <= 8000, `${d} within 75-100% of 8000`)
})

t.test('a Backoff counts failures until reset', async (t) => {
  const b = new Backoff({ initial: 500, max: 10_000 })
  t.same([b.next(), b.next(), b.next()], [500, 1000, 2000])
  t.equal(b.attempts, 3)
  b.reset()
  t.equal(b.attempts, 0)
  t.equal(b.next(), 500, 'after a success the next failure waits the first wait again')
})
