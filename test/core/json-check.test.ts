import t from 'tap'
import { MAX_DEPTH, NO_SRC, NOT_EVENT, NOT_JSON, scanObject } from '../../src/core/json-check.js'

const scan = (text: string): number => scanObject(Buffer.from(text))

t.test('objects JSON.parse takes are taken; the rest is not', async (t) => {
  for (const ok of ['{}', '{"a":1}', '{ "a" : [ 1 , 2 , { "b" : null } ] , "c" : true }', '{"a":"\\u00e9\\n\\"\\\\\\/"}', '{"a":-0.5e+10}', '{"a":{}}', '{"a":[]}']) {
    t.equal(scan(ok), NOT_EVENT, ok)
  }
  for (const bad of ['', '[1]', '"x"', '{', '{"a":1,}', '{"a"}', '{"a":01}', '{"a":"\t"}', '{"a":"\\x"}', '{"a":"\\u00g0"}', '{"a":"\\u000\u0010"}', '{"a":1}}', '{"a":[,]}', '{"a":1.}', '{"a":tru}', '{,"_ack":"x"}', '{"a":1} x']) {
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
