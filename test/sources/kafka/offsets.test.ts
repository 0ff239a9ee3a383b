import t from 'tap'
import { OffsetCommitter, type TopicPartitionOffset } from '../../../src/sources/kafka/offsets.js'

const committer = (options: { assigned?: (p: number) => boolean; fail?: () => boolean } = {}) => {
  const commits: TopicPartitionOffset[][] = []
  const errors: unknown[] = []
  const c = new OffsetCommitter({
    commit: async (offsets) => {
      if (options.fail?.()) throw new Error('REBALANCE_IN_PROGRESS')
      commits.push(offsets)
    },
    isAssigned: (_topic, partition) => options.assigned?.(partition) ?? true,
    interval: 10_000,
    onError: (e) => errors.push(e),
  })
  return { c, commits, errors }
}

t.test('the latest durable offset per partition is committed, grouped in one request', async (t) => {
  const { c, commits } = committer()
  c.durable('t', 0, '5')
  c.durable('t', 0, '9')
  c.durable('t', 1, '3')
  c.durable('t', 0, '7') // an older one never moves it back
  await c.flush()
  t.same(commits, [
    [
      { topic: 't', partition: 0, offset: '9' },
      { topic: 't', partition: 1, offset: '3' },
    ],
  ])
  await c.flush()
  t.equal(commits.length, 1, 'nothing new, nothing sent')
  c.durable('t', 0, '9')
  await c.flush()
  t.equal(commits.length, 1, 'an offset already committed is not sent again')
  t.equal(await c.drain(Date.now() + 100), 0)
})

t.test('a failed commit stays due and is retried; a partition we lost is left to its new owner', async (t) => {
  let failing = true
  let mine = true
  const { c, commits, errors } = committer({ fail: () => failing, assigned: () => mine })
  c.durable('t', 0, '4')
  await c.flush()
  t.equal(errors.length, 1)
  t.equal(c.pending, 1, 'still due')
  failing = false
  t.equal(await c.drain(Date.now() + 2000), 0)
  t.same(commits, [[{ topic: 't', partition: 0, offset: '4' }]])
  mine = false
  c.durable('t', 0, '8')
  await c.flush()
  t.equal(commits.length, 1, 'not ours any more: not committed')
})

t.test('offsets beyond 2^53 compare exactly', async (t) => {
  const { c, commits } = committer()
  c.durable('t', 0, '9007199254740993')
  c.durable('t', 0, '9007199254740992')
  await c.flush()
  t.same(commits[0], [{ topic: 't', partition: 0, offset: '9007199254740993' }])
})
