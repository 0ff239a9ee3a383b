import t from 'tap'
import { classifyLine, parseCursor } from '../../../src/core/link/cursor.js'
import { fuzz, mutations } from '../../fixtures/fuzz.js'

const cursor = 'AAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBB.42'

t.test('a tsf event line: the cursor is cut off without parsing', async (t) => {
  const line = Buffer.from(`{"body":"x","ts":1,"_ack":"${cursor}"}`)
  const c = classifyLine(line)
  t.equal(c.cursor, cursor)
  t.equal(c.head.toString(), '{"body":"x","ts":1')
  t.same(parseCursor(cursor), { link: 'AAAAAAAAAAAAAAAA', nonce: 'BBBBBBBBBBBBBBBB', position: 42 })
  t.equal(parseCursor('nope'), undefined)
})

t.test('a body that mentions _ack cannot fool the fast path', async (t) => {
  const line = Buffer.from(JSON.stringify({ body: `,"_ack":"${cursor}"}`, ts: 1 }))
  const c = classifyLine(line)
  t.equal(c.cursor, undefined)
  t.same(JSON.parse(c.head.toString() + '}'), { body: `,"_ack":"${cursor}"}`, ts: 1 })
})

t.test('a filter that moved the cursor (jq adding a field) still works, slowly', async (t) => {
  const line = Buffer.from(`{"ts":1,"body":"x","_ack":"${cursor}","tag":"a"}`)
  const c = classifyLine(line)
  t.equal(c.cursor, cursor)
  t.same(JSON.parse(c.head.toString() + '}'), { ts: 1, body: 'x', tag: 'a' })
})

t.test('plain text and non-event JSON become events, nothing dropped', async (t) => {
  t.same(JSON.parse(classifyLine(Buffer.from('hello')).head + '}'), { body: 'hello' })
  t.same(JSON.parse(classifyLine(Buffer.from('{"a":1}')).head + '}'), { body: '{"a":1}' })
  t.same(JSON.parse(classifyLine(Buffer.from('{"body":"x"}')).head + '}'), { body: 'x' })
  const piece = classifyLine(Buffer.from('{"body":"x"}'), { cont: true })
  t.same(JSON.parse(piece.head + '}'), { body: '{"body":"x"}', cont: true }, 'a cut piece is always text')
})

t.test('a line that only looks like an event is text: every head closes into valid JSON', async (t) => {
  for (const text of ['{}', '{,}', `{,"_ack":"${cursor}"}`, `{"body":,"_ack":"${cursor}"}`, `{"body":"x",,"_ack":"${cursor}"}`]) {
    const c = classifyLine(Buffer.from(text))
    t.equal(c.cursor, undefined, text)
    t.same(JSON.parse(c.head.toString() + '}'), { body: text }, text)
  }
})

t.test('a second _ack field does not survive the cut', async (t) => {
  const c = classifyLine(Buffer.from(`{"body":"x","_ack":"${cursor}","_ack":"${cursor}"}`))
  t.equal(c.cursor, cursor)
  t.same(JSON.parse(c.head.toString() + '}'), { body: 'x' })
})

t.test('an event nested 20,000 deep whose cursor a filter moved: kept whole as a body, no RangeError', async (t) => {
  const deep = `{"ts":1,"body":"x","_ack":"${cursor}","d":${'['.repeat(20000)}${']'.repeat(20000)}}`
  const c = classifyLine(Buffer.from(deep))
  t.equal(c.cursor, cursor, 'its place in the stream still acks')
  t.equal(JSON.parse(c.head.toString() + '}').body, deep)
})

fuzz(t, 'classifyLine: any bytes give a valid event head and a well-formed cursor or none', { cases: 3000 }, (rng) => {
  const valid = `{"body":"a \\"b\\" c","ts":1,"headers":{"k":"v"},"src":"s","seq":3,"_ack":"${cursor}"}`
  const line = rng.pick([rng.bytes(rng.int(0, 120)), ...mutations(rng, valid), Buffer.from(valid)])
  const c = classifyLine(line)
  const event = JSON.parse(c.head.toString() + '}')
  if (typeof event.body !== 'string' || '_ack' in event) throw new Error(`bad head ${c.head}`)
  if (c.cursor !== undefined && !parseCursor(c.cursor)) throw new Error(`bad cursor ${c.cursor}`)
})

fuzz(t, 'parseCursor never throws and accepts only link.nonce.position', { cases: 2000 }, (rng) => {
  const text = rng.pick([rng.bytes(rng.int(0, 60)).toString('latin1'), ...mutations(rng, cursor).map((b) => b.toString('latin1'))])
  const c = parseCursor(text)
  if (c && `${c.link}.${c.nonce}.${c.position}` !== text.replace(/\.0+(\d)/, '.$1')) throw new Error(`odd parse of ${JSON.stringify(text)}`)
})
