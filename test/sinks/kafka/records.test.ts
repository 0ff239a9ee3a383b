import t from 'tap'
import { toRecord } from '../../../src/sinks/kafka/records.js'

const rules = { topic: 'logs', value: 'event' as const }

t.test('the value is the event line as received; the key is its src; headers go along', async (t) => {
  const head = '{"body":"hello","ts":1,"headers":{"app":"web"},"src":"a1","seq":3'
  const r = toRecord(head, rules)
  t.equal(r.topic, 'logs')
  t.equal(r.key, 'a1')
  t.equal(r.value, head + '}')
  t.same(r.headers, { app: 'web' })
  t.same(JSON.parse(String(r.value)), { body: 'hello', ts: 1, headers: { app: 'web' }, src: 'a1', seq: 3 })
  t.equal(toRecord(Buffer.from(head), rules).value.toString(), head + '}', 'a Buffer head too')
})

t.test('an event without src has no key; without headers no record headers', async (t) => {
  const r = toRecord('{"body":"plain"', rules)
  t.equal(r.key, null)
  t.equal(r.headers, undefined)
})

t.test('--key-header and --topic-header, with a bad topic falling back to the default', async (t) => {
  const r = { ...rules, keyHeader: 'user', topicHeader: 'dest' }
  t.match(toRecord('{"body":"x","headers":{"user":"u1","dest":"other"},"src":"s"', r), { key: 'u1', topic: 'other' })
  t.match(toRecord('{"body":"x","headers":{"dest":"other"},"src":"s"', r), { key: 's', topic: 'other' }, 'no key header: the src')
  t.match(toRecord('{"body":"x","headers":{"dest":"bad topic"},"src":"s"', r), { topic: 'logs' })
})

t.test('--value body: the exact original bytes', async (t) => {
  const r = toRecord('{"body":"a\\ufffdb","body64":"Yf9i"', { ...rules, value: 'body' })
  t.same(r.value, Buffer.from([0x61, 0xff, 0x62]))
  t.same(toRecord('{"body":"tab\\there"', { ...rules, value: 'body' }).value, Buffer.from('tab\there'))
})

t.test('non-string header values are stringified rather than dropped', async (t) => {
  t.same(toRecord('{"body":"x","headers":{"n":5,"o":{"a":1}}', rules).headers, { n: '5', o: '{"a":1}' })
})
