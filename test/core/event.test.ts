import t from 'tap'
import {
  bodyBytes,
  bodyFields,
  encodeEnvelope,
  eventHeadFromObject,
  parseEventLine,
  plainLineHead,
  sourceEventHead,
  tryParseEvent,
} from '../../src/core/event.js'
import { quote, encodeHeaders } from '../../src/core/json-string.js'
import { fuzz, mutations } from '../fixtures/fuzz.js'

const asEvent = (head: string) => JSON.parse(head + '}')

t.test('quote matches JSON.stringify for every kind of string', async (t) => {
  const samples = [
    'plain',
    'with "quotes"',
    'back\\slash',
    'tab\there',
    'nul\u0000byte',
    'ctl\u001f',
    'ümlaut ✓',
    'emoji 😀',
    'lone \ud800 surrogate',
    '',
  ]
  for (const s of samples) t.equal(quote(s), JSON.stringify(s), JSON.stringify(s))
  t.equal(encodeHeaders({ a: '1', 'b"': 'x\ny' }), JSON.stringify({ a: '1', 'b"': 'x\ny' }))
})

t.test('a source event head is valid JSON with the contract fields', async (t) => {
  const env = encodeEnvelope({ host: 'web1', headers: { file: '/var/log/a.log', env: 'prod' } })
  const head = sourceEventHead(Buffer.from('GET / 200'), { ts: 1700000000000, src: 'agent.abc', seq: 7, pos: 10 }, env)
  t.same(asEvent(head), {
    body: 'GET / 200',
    ts: 1700000000000,
    host: 'web1',
    headers: { file: '/var/log/a.log', env: 'prod' },
    src: 'agent.abc',
    seq: 7,
    pos: 10,
  })
  const cont = sourceEventHead(Buffer.from('x'), { ts: 1, cont: true }, encodeEnvelope({ host: 'h', headers: {} }))
  t.same(asEvent(cont), { body: 'x', ts: 1, host: 'h', cont: true })
})

t.test('bytes that are not UTF-8 survive byte for byte through body64', async (t) => {
  const raw = Buffer.from([0x61, 0xff, 0xfe, 0x00, 0x62, 0xc3])
  const event = asEvent(`{${bodyFields(raw)}`)
  t.ok(event.body64, 'body64 present')
  t.ok(event.body.includes('\ufffd'), 'body is a readable rendering')
  t.same(bodyBytes(event), raw)
  const utf8 = Buffer.from('nul\u0000 and ctl\u0007 ✓')
  const clean = asEvent(`{${bodyFields(utf8)}`)
  t.equal(clean.body64, undefined, 'valid UTF-8 needs no body64')
  t.same(bodyBytes(clean), utf8)
})

t.test('a line that is not a tsf event becomes the body of one', async (t) => {
  t.same(parseEventLine('plain text'), { body: 'plain text' })
  t.same(parseEventLine('{"broken": '), { body: '{"broken": ' })
  t.same(parseEventLine('{"level":"info"}'), { body: '{"level":"info"}' }, 'JSON without a body')
  t.same(parseEventLine('[1,2]'), { body: '[1,2]' })
  t.same(parseEventLine('{"body":"x","extra":{"a":1}}'), { body: 'x', extra: { a: 1 } }, 'unknown fields kept')
  t.equal(tryParseEvent('{"body":5}'), undefined, 'a body must be a string')
  const bad = parseEventLine(Buffer.from([0x7b, 0xff]))
  t.same(bodyBytes(bad), Buffer.from([0x7b, 0xff]))
  t.same(asEvent(plainLineHead(Buffer.from('a'), { cont: true })), { body: 'a', cont: true })
  t.same(asEvent(plainLineHead(Buffer.from('a'), { truncated: true })), { body: 'a', truncated: true })
})

t.test('an event object re-encodes without its cursor', async (t) => {
  t.same(asEvent(eventHeadFromObject({ body: 'b', ts: 1, _ack: 'x' })), { body: 'b', ts: 1 })
})

t.test('nesting 20,000 deep: parsed, but never re-encoded with a RangeError', async (t) => {
  const deep = `{"body":"x","d":${'['.repeat(20000)}${']'.repeat(20000)}}`
  const event = parseEventLine(deep)
  t.equal(event.body, 'x')
  t.equal(eventHeadFromObject(event), undefined, 'too deep to serialise: the caller keeps the line whole')
})

fuzz(t, 'sourceEventHead: any bytes give valid JSON whose body bytes are the line', { cases: 2000 }, (rng) => {
  const bytes = rng.pick([rng.bytes(rng.int(0, 100)), ...mutations(rng, 'GET /é "q" \\ 200\t✓')])
  const head = sourceEventHead(bytes, { ts: 1, src: 's', seq: 1, pos: 2 }, encodeEnvelope({ host: 'h', headers: { a: 'b' } }))
  const event = JSON.parse(head + '}')
  if (!bodyBytes(event).equals(bytes)) throw new Error(`body bytes differ for ${bytes.toString('hex')}`)
  const plain = JSON.parse(plainLineHead(bytes) + '}')
  if (!bodyBytes(plain).equals(bytes)) throw new Error(`plain body bytes differ for ${bytes.toString('hex')}`)
})
