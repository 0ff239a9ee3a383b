import t from 'tap'
import {
  FIELDS_BAD,
  FIELDS_END,
  FIELDS_LAST,
  lastString,
  MAX_DEPTH,
  newFieldSpan,
  nextField,
  NO_SRC,
  NOT_EVENT,
  NOT_JSON,
  readNumber,
  scanObject,
  stringEnd,
  unescapeInto,
  unescapeString,
  viewOf,
} from '../../src/core/json-scan.js'
import { fuzz, mutate } from '../fixtures/fuzz.js'

const scan = (text: string): number => scanObject(Buffer.from(text))

t.test('objects JSON.parse takes are taken; the rest is not', async (t) => {
  for (const ok of [
    '{}',
    '{"a":1}',
    '{ "a" : [ 1 , 2 , { "b" : null } ] , "c" : true }',
    '{"a":"\\u00e9\\n\\"\\\\\\/"}',
    '{"a":-0.5e+10}',
    '{"a":{}}',
    '{"a":[]}',
  ]) {
    t.equal(scan(ok), NOT_EVENT, ok)
  }
  for (const bad of [
    '',
    '[1]',
    '"x"',
    '{',
    '{"a":1,}',
    '{"a"}',
    '{"a":01}',
    '{"a":"\t"}',
    '{"a":"\\x"}',
    '{"a":"\\u00g0"}',
    '{"a":"\\u000\u0010"}',
    '{"a":1}}',
    '{"a":[,]}',
    '{"a":1.}',
    '{"a":tru}',
    '{,"_ack":"x"}',
    '{"a":1} x',
  ]) {
    t.equal(scan(bad), NOT_JSON, JSON.stringify(bad))
  }
})

t.test('a string body makes an event; the top-level src is found, a nested one is not', async (t) => {
  t.equal(scan('{"body":"x"}'), NO_SRC)
  t.equal(scan('{"body":1}'), NOT_EVENT)
  t.equal(scan('{"body":"x","body":{}}'), NOT_EVENT, 'the last body wins, as in JSON.parse')
  const line = '{"body":"x","headers":{"src":"no"},"src":"yes","seq":1}'
  t.equal(line.slice(scan(line), scan(line) + 3), 'yes')
})

t.test('nesting deeper than MAX_DEPTH is refused, without recursion', async (t) => {
  t.equal(scan(`{"body":"x","d":${'['.repeat(MAX_DEPTH - 1)}${']'.repeat(MAX_DEPTH - 1)}}`), NO_SRC)
  t.equal(scan(`{"body":"x","d":${'['.repeat(MAX_DEPTH)}${']'.repeat(MAX_DEPTH)}}`), NOT_JSON)
  t.equal(scan(`{"body":"x","d":${'['.repeat(20_000)}${']'.repeat(20_000)}}`), NOT_JSON)
})

t.test('lines at any offset and alignment of a shared buffer', async (t) => {
  const line = '{"body":"aaaa\\"bbbbbbbbbbbbbbbbbbbbbb\\\\","src":"s"}'
  for (let pad = 0; pad < 8; pad++) {
    const b = Buffer.from(`${' '.repeat(pad)}\n${line}\n`)
    const at = scanObject(b, pad + 1, pad + 1 + line.length)
    t.equal(b.toString('utf8', at, at + 1), 's', `pad ${pad}`)
  }
})

// ---- the field walker and string decoders that roll and filter use ----------------------------

// the members nextField finds in a head (JSON text without its closing brace), decoded by JSON.parse
const walk = (head: Buffer): [string, unknown][] | 'bad' => {
  const v = viewOf(head)
  const f = newFieldSpan()
  const out: [string, unknown][] = []
  let i = head.byteOffset + head.indexOf(0x7b) + 1
  for (let first = true; i >= 0; first = false) {
    i = nextField(v, i, head.byteOffset + head.length, f, first)
    if (i === FIELDS_BAD) return 'bad'
    if (i === FIELDS_END) break
    out.push([v.buf.toString('utf8', f.keyStart, f.keyEnd), JSON.parse(v.buf.toString('utf8', f.start, f.end))])
    if (i === FIELDS_LAST) break
  }
  return out
}

t.test('nextField walks the members of a head as JSON.parse sees them, at any alignment', async (t) => {
  await fuzz(t, 'nextField matches JSON.parse', { cases: 2000 }, (rng) => {
    const event: Record<string, unknown> = { body: rng.nastyString(rng.int(0, 40)) }
    if (rng.bool()) event.ts = rng.pick([1700000000123, 0, -5, 12.25])
    if (rng.bool()) event.headers = { a: rng.nastyString(3), n: [1, { y: '}]"\\' }] }
    if (rng.bool()) event.s = rng.nastyString(rng.int(0, 9))
    const text = JSON.stringify(event)
    const pad = ' '.repeat(rng.int(0, 7))
    // members joined tight or with spaces around the commas (never inside a value: a body may end in ',')
    const sep = rng.bool() ? ',' : ' , '
    const head = `{${Object.entries(event)
      .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`)
      .join(sep)}`
    const buf = Buffer.from(`${pad}${head}`)
    const got = walk(buf.subarray(pad.length))
    const want = Object.entries(JSON.parse(text) as object)
    if (JSON.stringify(got) !== JSON.stringify(want))
      throw new Error(`${JSON.stringify(got)} != ${JSON.stringify(want)} for ${buf.toString()}`)
  })
})

t.test('nextField: damaged heads are bad, never a throw; 20,000-deep nesting is a loop', async (t) => {
  for (const bad of ['{"a":1,', '{"a" 1', '{"a":', '{"a":"x" "b":1', '{"a":"unterminated', '{a:1', '{"a":[1,2'])
    t.equal(walk(Buffer.from(bad)), 'bad', bad)
  t.same(walk(Buffer.from('{')), [])
  const deep = `{"d":${'['.repeat(20_000)}${']'.repeat(20_000)},"e":2`
  t.same(
    (walk(Buffer.from(deep)) as [string, unknown][]).map(([k]) => k),
    ['d', 'e'],
  )
  await fuzz(t, 'nextField on damaged heads', { cases: 3000 }, (rng) => {
    const input = rng.bool(0.2)
      ? rng.bytes(rng.int(0, 200))
      : mutate(rng, Buffer.from('{"body":"a \\"q\\" \\\\ \\u00e9","ts":1,"headers":{"a":"b"},"src":"s"'))
    const v = viewOf(input)
    const f = newFieldSpan()
    let i = input.byteOffset + 1
    for (let first = true, n = 0; i >= 0 && n < 1000; first = false, n++) i = nextField(v, i, input.byteOffset + input.length, f, first)
  })
})

t.test('unescapeString and unescapeInto write the bytes JSON.parse decodes, or -1 for a bad escape', async (t) => {
  const out = Buffer.alloc(4096)
  const words = new DataView(out.buffer, out.byteOffset, out.length)
  await fuzz(t, 'unescape matches JSON.parse', { cases: 3000 }, (rng) => {
    const value = rng.nastyString(rng.int(0, 80))
    const pad = rng.int(0, 7)
    const buf = Buffer.from(`${' '.repeat(pad)}${JSON.stringify(value)},"x":1`)
    const v = viewOf(buf)
    const open = buf.byteOffset + pad
    const close = unescapeString(v, open, buf.byteOffset + buf.length, out, words, 3)
    const want = Buffer.from(value).toString('hex')
    if (close !== open + Buffer.byteLength(JSON.stringify(value)) - 1) throw new Error(`end ${close} for ${JSON.stringify(value)}`)
    if (out.toString('hex', 3, 3 + lastString.written) !== want) throw new Error(`unescapeString of ${JSON.stringify(value)}`)
    const n = unescapeInto(v, open + 1, close, out, 5)
    if (out.toString('hex', 5, 5 + n) !== want) throw new Error(`unescapeInto of ${JSON.stringify(value)}`)
    if (stringEnd(v, open, buf.byteOffset + buf.length) !== close) throw new Error('stringEnd')
  })
  const bad = Buffer.from('"a\\x b"')
  t.equal(
    unescapeString(viewOf(bad), bad.byteOffset, bad.byteOffset + bad.length, out, words, 0),
    bad.byteOffset + 6,
    'a bad escape still finds the end',
  )
  t.equal(lastString.written, -1, 'and says the escape is bad')
  const invalid = Buffer.from([0x22, 0xff, 0xc3, 0x5c, 0x22, 0x80, 0x22])
  t.equal(unescapeString(viewOf(invalid), invalid.byteOffset, invalid.byteOffset + invalid.length, out, words, 0), invalid.byteOffset + 6)
  t.same(out.subarray(0, lastString.written), Buffer.from([0xff, 0xc3, 0x22, 0x80]), 'invalid UTF-8 is copied as it is')
  t.equal(unescapeString(viewOf(bad), bad.byteOffset, bad.byteOffset + 3, out, words, 0), -1, 'not closed before the limit')
})

t.test('readNumber takes JSON numbers only', async (t) => {
  for (const [text, want] of [
    ['0', 0],
    ['1796221935839', 1796221935839],
    ['-5', -5],
    ['12.25', 12.25],
    ['1e3', 1000],
    ['01', NaN],
    ['1.', NaN],
    ['', NaN],
    ['true', NaN],
    ['12345678901234567890', 12345678901234567890],
  ] as const) {
    const b = Buffer.from(` ${text} `)
    t.same(readNumber(viewOf(b), b.byteOffset + 1, b.byteOffset + 1 + text.length), want, text)
  }
})
