import t from 'tap'
import { toRecord } from '../../../src/sinks/kafka/records.js'
import { fuzz, mutations } from '../../fixtures/fuzz.js'

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

t.test('poison heads never throw: deep header values, headers that are not an object, broken JSON', async (t) => {
  const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}`
  const r = { ...rules, keyHeader: 'k', topicHeader: 'k' }
  const deepHeader = toRecord(`{"body":"x","headers":{"k":${deep},"app":"web"},"src":"s"`, r)
  t.same(deepHeader.headers, { k: '[nested too deep]', app: 'web' }, 'the deep header is a marker, the others go along')
  t.match(deepHeader, { topic: 'logs', key: '[nested too deep]' })
  t.equal(
    String(deepHeader.value).length,
    `{"body":"x","headers":{"k":${deep},"app":"web"},"src":"s"}`.length,
    'the event itself is sent whole',
  )
  t.equal(toRecord(`{"body":"x","headers":${deep}`, r).headers, undefined, 'headers that are an array are no headers')
  t.equal(toRecord('{"body":"x","headers":["a","b"]', r).headers, undefined)
})

t.test('fuzzed event heads: a record whose headers are strings, or nothing thrown', async (t) => {
  const valid = '{"body":"hello","ts":1,"headers":{"app":"web","dest":"other","n":5},"src":"a1","seq":3'
  await fuzz(t, 'kafka toRecord', { cases: 2000 }, (rng) => {
    const heads: (string | Buffer)[] = [
      ...mutations(rng, valid),
      rng.bytes(rng.int(0, 80)),
      `{"body":${JSON.stringify(rng.nastyString(rng.int(0, 20)))},"headers":{${JSON.stringify(rng.nastyString(3))}:${rng.pick(['1', 'null', '[]', '{}', '"x"', '[[[[]]]]', `${'['.repeat(rng.int(1, 30_000))}${']'.repeat(30_000)}`.slice(0, 60_001)])}}`,
    ]
    for (const head of heads) {
      const rec = toRecord(head, { ...rules, keyHeader: 'dest', topicHeader: 'dest', value: rng.pick(['event', 'body'] as const) })
      if (rec.headers && Object.values(rec.headers).some((v) => typeof v !== 'string'))
        throw new Error(`a header that is not a string: ${JSON.stringify(rec.headers)}`)
      if (typeof rec.topic !== 'string' || (rec.key !== null && typeof rec.key !== 'string')) throw new Error('no topic or a bad key')
    }
  })
})
