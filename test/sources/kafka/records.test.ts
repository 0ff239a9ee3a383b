import t from 'tap'
import { recordHead } from '../../../src/sources/kafka/records.js'
import { fuzz, mutations } from '../../fixtures/fuzz.js'

const record = (value: Buffer | string | null, offset = '41', key: Buffer | null = null) => ({
  key,
  value: value === null ? null : Buffer.from(value),
  timestamp: '1700000000000',
  offset,
})
const parse = (head: string) => JSON.parse(head + '}') as Record<string, unknown>

t.test('a tsf event value stays that event, gains its place in headers, loses any cursor', async (t) => {
  const value = JSON.stringify({ body: 'b', ts: 2, headers: { app: 'web', topic: 'old' }, src: 'a1', seq: 9, _ack: 'x.y.1' })
  t.same(parse(recordHead('logs', 3, record(value, '41', Buffer.from('k')))), {
    body: 'b',
    ts: 2,
    headers: { app: 'web', topic: 'logs', partition: '3', offset: '41', key: 'k' },
    src: 'a1',
    seq: 9,
  })
})

t.test('a tsf event without a src gets its place in the topic as its stream', async (t) => {
  t.match(parse(recordHead('logs', 0, record('{"body":"b"}', '0'))), { src: 'kafka:logs:0', seq: 1 })
})

t.test('anything else is the body of a new event stamped with the record time', async (t) => {
  t.same(parse(recordHead('logs', 1, record('plain "text"', '7'))), {
    body: 'plain "text"',
    ts: 1700000000000,
    headers: { topic: 'logs', partition: '1', offset: '7' },
    src: 'kafka:logs:1',
    seq: 8,
  })
  t.match(parse(recordHead('logs', 1, record('{"broken'))), { body: '{"broken' })
  t.match(parse(recordHead('logs', 1, record('{"no":"body"}'))), { body: '{"no":"body"}' }, 'JSON that is not an event')
  t.match(parse(recordHead('logs', 1, record(null))), { body: '' }, 'a null value (tombstone)')
  t.match(parse(recordHead('logs', 1, record('nul\0byte'))), { body: 'nul\0byte' })
})

t.test('invalid UTF-8 keeps its bytes in body64; a binary key in key64', async (t) => {
  const e = parse(recordHead('logs', 0, record(Buffer.from([0x7b, 0xff]), '0', Buffer.from([0xff, 0x01]))))
  t.equal(Buffer.from(e.body64 as string, 'base64').toString('hex'), '7bff')
  t.same(e.headers, { topic: 'logs', partition: '0', offset: '0', key64: Buffer.from([0xff, 0x01]).toString('base64') })
})

t.test('fuzzed records: every head is one valid JSON event with its place, nothing thrown', async (t) => {
  const valid = '{"body":"hello","ts":1,"headers":{"app":"web"},"src":"a1","seq":3}'
  await fuzz(t, 'kafka recordHead', { cases: 2000 }, (rng) => {
    const values: (Buffer | null)[] = [
      ...mutations(rng, valid),
      rng.bytes(rng.int(0, 80)),
      null,
      Buffer.from(
        `{"body":"x","headers":${rng.pick(['[1]', 'null', '"s"', '{"topic":7}', `${'['.repeat(20_000)}${']'.repeat(20_000)}`])},"src":${rng.pick(['1', 'null', '"s"', '{}'])}}`,
      ),
    ]
    for (const value of values) {
      const key = rng.pick([null, rng.bytes(rng.int(0, 8)), Buffer.from(rng.nastyString(4))])
      const head = recordHead('t', 3, { value, key, offset: String(rng.int(0, 1e9)), timestamp: rng.pick(['1', 'x', '']) } as Parameters<
        typeof recordHead
      >[2])
      const event = JSON.parse(`${head}}`) as { body: unknown; headers: Record<string, unknown> }
      if (typeof event.body !== 'string') throw new Error(`no string body: ${head.slice(0, 200)}`)
      if (event.headers.topic !== 't' || event.headers.partition !== '3') throw new Error(`the place is missing: ${head.slice(0, 200)}`)
    }
  })
})
