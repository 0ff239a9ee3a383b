// collect's heads rendered from the fetched bytes (record-heads.ts) are exactly recordHead()'s,
// the reference that parses and re-serialises (records.ts), on the same records: tsf events as
// tsf writes them (the spliced path), events written any other way, broken and hostile JSON,
// plain text, invalid UTF-8, null and binary keys, negative timestamps.
import t from 'tap'
import { headStrings } from '../../../src/core/head-block.js'
import { fetchedRecord } from '../../../src/kafka/consumer.js'
import { RecordSet } from '../../../src/kafka/record-set.js'
import { RecordHeads } from '../../../src/sources/kafka/record-heads.js'
import { recordHead } from '../../../src/sources/kafka/records.js'
import { fuzz, mutations, type Rng } from '../../fixtures/fuzz.js'

interface Rec {
  key: Buffer | null
  value: Buffer | null
  offset: number
  timestamp: number
}

// One record per batch buffer, laid out as in a batch: key, value, then a header count of 0;
// some records share a buffer with padding before them so that offsets inside it are not 0.
const recordSet = (records: Rec[]): RecordSet => {
  const set = new RecordSet(2)
  for (const r of records) {
    const pad = r.offset % 3
    const key = r.key ?? Buffer.alloc(0)
    const value = r.value ?? Buffer.alloc(0)
    const buf = Buffer.concat([Buffer.alloc(pad, 0xff), key, value, Buffer.from([0])])
    const b = set.addBatch(buf, 0, '-1', String(r.offset))
    const i = set.addRecord(b, pad, r.key ? key.length : -1, pad + key.length, r.value ? value.length : -1, buf.length - 1)
    set.offsets[i] = r.offset
    set.timestamps[i] = r.timestamp
  }
  return set
}

const compare = (t: Tap, topic: string, partition: number, records: Rec[], index?: number[]): RecordHeads => {
  const set = recordSet(records)
  const idx = Int32Array.from(index ?? records.map((_, i) => i))
  const heads = new RecordHeads(topic, partition, { set, index: idx })
  const expected = Array.from(idx, (i) => recordHead(topic, partition, fetchedRecord(set, i)))
  const got = headStrings(heads)
  for (let i = 0; i < got.length; i++)
    if (got[i] !== expected[i]) {
      t.equal(got[i], expected[i], `head ${i} (value ${JSON.stringify(records[idx[i]!]!.value?.toString('latin1'))})`)
      return heads
    }
  t.pass(`${got.length} heads as recordHead makes them`)
  return heads
}
type Tap = Parameters<Parameters<typeof t.test>[1]>[0]

const rec = (value: string | Buffer | null, over: Partial<Rec> = {}): Rec => ({
  key: null,
  value: typeof value === 'string' ? Buffer.from(value) : value,
  offset: 41,
  timestamp: 1_700_000_000_000,
  ...over,
})

// an event as tail writes it (and ship sends it)
const tailEvent = (i: number, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    body: `10.0.0.${i % 256} - - "GET /x?q=${i} HTTP/1.1" 200 ${i}`,
    ts: 1_796_000_000_000 + i,
    host: 'web-1',
    src: 's1',
    seq: i + 1,
    pos: i * 80,
    ...extra,
  })

t.test('events as tsf writes them are rendered from their bytes, the same heads as recordHead', async (t) => {
  const records = [
    rec(tailEvent(1)),
    rec(tailEvent(2, { headers: { app: 'web', file: '/var/log/ü.log' } }), { key: Buffer.from('s1') }),
    rec(tailEvent(3, { headers: {} })),
    rec(JSON.stringify({ _ack: 'x.y.1', body: 'first cursor', ts: 1 })),
    rec(JSON.stringify({ body: 'mid cursor', _ack: 'x.y.2', ts: 2, src: 'a' })),
    rec(JSON.stringify({ body: 'last cursor', src: 'a', seq: 3, _ack: 7 })),
    rec(
      JSON.stringify({
        body: 'quotes " \\ \n \t \u0001 \u001f \u007f é 😀 \u2028',
        ts: -5,
        cont: true,
        truncated: false,
        x: null,
        f: 1.5,
        g: 1e21,
        h: -0.25,
      }),
    ),
    rec(JSON.stringify({ body: '' }), { key: Buffer.alloc(0), offset: 2 ** 40 }),
    rec(JSON.stringify({ headers: { a: 'b' }, body: 'headers first', src: 'a' }), { key: Buffer.from('k"ü') }),
    rec('GET /plain "line" \\ \u0001'),
    rec(null),
    rec(''),
    rec('x'.repeat(100_000), { timestamp: -1 }),
  ]
  const heads = compare(t, 'logs', 3, records)
  t.equal(heads.careful, 0, 'no head needed the careful path')
  compare(t, 'logs', 3, records, [1, 4, 9, 12])
})

t.test('everything else takes recordHead itself: the same heads either way', async (t) => {
  const values = [
    '{"body":"spaces", "ts":1}',
    '{ "body":"x"}',
    '{"body":"x"} ',
    '{"body":"slash \\/"}',
    '{"body":"\\u00e9 escaped"}',
    '{"body":"\\u001F upper hex"}',
    '{"body":"\\u000a short form exists"}',
    '{"body":"x","ts":1.0}',
    '{"body":"x","ts":1e3}',
    '{"body":"x","ts":-0}',
    '{"body":"x","ts":01}',
    '{"body":"x","ts":12345678901234567890}',
    '{"body":"x","body":"twice"}',
    '{"body":"x","headers":{"a":"1","a":"2"}}',
    '{"body":"x","headers":{"topic":"old"}}',
    '{"body":"x","headers":{"key":"old"}}',
    '{"body":"x","headers":{"1":"index"}}',
    '{"body":"x","headers":{"n":1}}',
    '{"body":"x","headers":[]}',
    '{"body":"x","headers":null}',
    '{"body":"x","5":"index key"}',
    '{"body":"x","__proto__":{"a":1}}',
    '{"body":"x","nested":{"a":[1,2]}}',
    '{"body":"x","arr":[]}',
    '{"body":"x","src":1}',
    '{"body":"x","src":null,"seq":4}',
    '{"body":"x","seq":4}',
    '{"body":1}',
    '{"no":"body"}',
    '{}',
    '{"body":"x"',
    '{"body":"x",}',
    '{"body":"x","headers":{}',
    '{"body":"x","headers":{"a":"b"}',
    '{"body":"x","_ack":{"a":1}}',
    '{"body":"x","t":tru}',
    '{"body":"x","t":true}',
    `{"body":"deep","d":${'['.repeat(5000)}${']'.repeat(5000)}}`,
  ]
  compare(
    t,
    'logs',
    0,
    values.map((v, i) => rec(v, { offset: i })),
  )
  compare(t, 'logs', 0, [
    rec(Buffer.from([0x7b, 0xff, 0x7d])),
    rec(Buffer.from([0x61, 0xc3])),
    rec('ok', { key: Buffer.from([0xff, 0x00]) }),
  ])
})

const randomEvent = (rng: Rng): string => {
  const fields: [string, unknown][] = [['body', rng.nastyString(rng.int(0, 12))]]
  if (rng.bool()) fields.push(['ts', rng.pick([rng.int(0, 2 ** 45), -rng.int(0, 100), 0.5, 1e-7, 2 ** 60])])
  if (rng.bool()) fields.push(['host', rng.nastyString(3)])
  if (rng.bool()) {
    const h: Record<string, string> = {}
    for (let k = rng.int(0, 3); k > 0; k--) h[rng.pick(['app', 'file', rng.nastyString(2), 'topic', '7'])] = rng.nastyString(rng.int(0, 5))
    fields.push(['headers', h])
  }
  if (rng.bool()) fields.push(['src', rng.pick(['s', rng.nastyString(3)])])
  if (rng.bool()) fields.push(['seq', rng.int(0, 1e9)])
  if (rng.bool(0.3)) fields.push(['_ack', rng.pick(['a.b.1', 5])])
  if (rng.bool(0.2)) fields.push([rng.pick(['cont', 'x', '9', 'é']), rng.pick([true, null, 'v', 3])])
  // any order
  for (let i = fields.length - 1; i > 0; i--) {
    const j = rng.int(0, i)
    ;[fields[i], fields[j]] = [fields[j]!, fields[i]!]
  }
  return JSON.stringify(Object.fromEntries(fields))
}

t.test("fuzzed records: the heads from bytes are recordHead's, byte for byte", async (t) => {
  await fuzz(t, 'kafka record heads', { cases: 1500 }, (rng) => {
    const event = randomEvent(rng)
    const values: (Buffer | null)[] = [
      Buffer.from(event),
      ...mutations(rng, event, 2),
      rng.bytes(rng.int(0, 40)),
      Buffer.from(rng.nastyString(rng.int(0, 20))),
      null,
    ]
    const records = values.map((value) => ({
      value,
      key: rng.pick([null, Buffer.alloc(0), rng.bytes(rng.int(1, 6)), Buffer.from(rng.nastyString(3))]),
      offset: rng.int(0, 2 ** 50),
      timestamp: rng.pick([rng.int(0, 2 ** 45), -1, 0]),
    }))
    const set = recordSet(records)
    const index = Int32Array.from(records.map((_, i) => i))
    const got = headStrings(new RecordHeads('t.x-1', 3, { set, index }))
    for (let i = 0; i < records.length; i++) {
      const expected = recordHead('t.x-1', 3, fetchedRecord(set, i))
      if (got[i] !== expected) throw new Error(`head ${i} differs:\n got ${got[i]}\nwant ${expected}`)
    }
  })
})
