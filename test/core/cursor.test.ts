import t from 'tap'
import { classifyLine, parseCursor } from '../../src/core/link/cursor.js'

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
