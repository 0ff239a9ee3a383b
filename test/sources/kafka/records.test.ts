import t from 'tap'
import { recordHead } from '../../../src/sources/kafka/records.js'

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
