import t from 'tap'
import { decodeBatch, encodeBatch } from '../../../src/core/wire/batch.js'

t.test('heads round-trip through a batch payload without parsing', async (t) => {
  const heads = ['{"body":"a","seq":1', Buffer.from('{"body":"ü \\" b","headers":{"k":"v"}'), '{"body":""']
  const payload = encodeBatch(heads)
  t.equal(payload.toString(), '{"body":"a","seq":1}\n{"body":"ü \\" b","headers":{"k":"v"}}\n{"body":""}\n')
  const back = decodeBatch(payload, { maxEvent: 1000 }).map((h) => h.toString())
  t.same(
    back,
    heads.map((h) => h.toString()),
  )
})

t.test('lines that are not event-shaped become the body of one; nothing is dropped', async (t) => {
  const payload = Buffer.from('plain text\n{"body":"ok"}\n\n[1,2]\nno newline')
  const heads = decodeBatch(payload, { maxEvent: 1000 }).map((h) => `${h.toString()}}`)
  t.same(
    heads.map((h) => JSON.parse(h).body),
    ['plain text', 'ok', '[1,2]', 'no newline'],
  )
})

t.test('an oversize line is cut into pieces marked cont, never held whole as one event', async (t) => {
  let oversize = 0
  const heads = decodeBatch(Buffer.from(`${'x'.repeat(40)}\n{"body":"y"}\n`), { maxEvent: 15, onOversize: () => oversize++ })
  const events = heads.map((h) => JSON.parse(`${h.toString()}}`))
  t.equal(oversize, 1)
  t.same(
    events.map((e) => e.body),
    ['x'.repeat(15), 'x'.repeat(15), 'x'.repeat(10), 'y'],
  )
  t.same(
    events.map((e) => Boolean(e.cont)),
    [true, true, false, false],
  )
})
