import t from 'tap'
import type { InputBatch } from '../../../src/core/link/reader.js'
import { toWrite, type DocumentRules } from '../../../src/sinks/mongodb/documents.js'
import { SendQueue } from '../../../src/sinks/mongodb/send-queue.js'
import { parseMongoUrl } from '../../../src/sinks/mongodb/url.js'

const url = parseMongoUrl('mongodb://h/%{db:-d}/c')
const rules: DocumentRules = { database: url.database, collection: url.collection, op: 'insert', timestampFields: [] }
let ids = 0
const batch = (...events: Record<string, unknown>[]): InputBatch => {
  const heads = events.map((e) => JSON.stringify(e).slice(0, -1))
  return { id: ids++, heads, bytes: heads.reduce((n, h) => n + h.length, 0), positions: new Map() }
}
const queue = (batchEvents = 100, batchBytes = 1 << 20): SendQueue =>
  new SendQueue((head) => toWrite(head, rules), { batchEvents, batchBytes })
const doc = (id: string, op = 'replace', seq = 1): Record<string, unknown> => ({
  body: JSON.stringify({ _id: id, seq }),
  headers: { op },
  src: 's',
  seq,
})
const labels = (taken: { write: { label: string } }[]): string[] => taken.map((p) => p.write.label)

t.test('sends follow input order across batches, cut at --batch and --batch-bytes', async (t) => {
  const q = queue(3)
  q.push(batch(doc('a', 'insert', 1), doc('b', 'insert', 2)))
  q.push(batch(doc('c', 'insert', 3), doc('d', 'insert', 4)))
  t.equal(q.events, 4)
  t.ok(q.bytes > 0)
  t.same(labels(q.take().taken), ['s:1', 's:2', 's:3'])
  t.same(labels(q.take().taken), ['s:4'])
  t.same(q.take().taken, [], 'empty')
  t.equal(q.events, 0)
  t.equal(q.bytes, 0, 'held bytes go back to 0')
  const small = queue(100, 1)
  small.push(batch(doc('a', 'insert', 1), doc('b', 'insert', 2)))
  t.same(labels(small.take().taken), ['s:1'], 'one event even when it alone passes --batch-bytes')
  t.same(labels(small.take().taken), ['s:2'], 'the held-back event comes next, not lost')
})

t.test('a write to a document being written waits for that send; others do not pass it', async (t) => {
  const q = queue()
  q.push(batch(doc('k', 'replace', 1), doc('x', 'replace', 2), doc('k', 'upsert', 3), doc('y', 'replace', 4)))
  const first = q.take()
  t.same(labels(first.taken), ['s:1', 's:2'], 'the second write to k ends the send')
  const blocked = q.take()
  t.same(blocked.taken, [], 'nothing more while k is in flight: y stays behind it, in order')
  q.release(first.taken)
  t.same(labels(q.take().taken), ['s:3', 's:4'], 'after the release: k again, then y')
  const inserts = queue()
  inserts.push(batch(doc('k', 'insert', 1), doc('k', 'insert', 2)))
  t.same(labels(inserts.take().taken), ['s:1', 's:2'], 'inserts are not ordered by key: a duplicate is "already written"')
})

t.test('events that cannot be written come along, in their send, to be set aside', async (t) => {
  const q = queue(3)
  const b = batch(
    doc('a', 'insert', 1),
    { body: '{"n":1}', headers: { op: 'upsert' }, src: 's', seq: 2 },
    doc('c', 'insert', 3),
    doc('d', 'insert', 4),
  )
  q.push(b)
  const { taken, unwritable } = q.take()
  t.same(labels(taken), ['s:1', 's:3'])
  t.same(
    unwritable.map((r) => r.problem.label),
    ['s:2'],
  )
  t.match(unwritable[0]!.problem.error, /upsert needs the document's own _id/)
  t.equal(unwritable[0]!.item.batch, b, 'tied to its input batch, acked once it is set aside')
  t.equal(taken[0]!.item.left, 4, 'the batch is acked only when all four are done')
})
