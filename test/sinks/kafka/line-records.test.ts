import t from 'tap'
import { LineRecords, scanEvent } from '../../../src/sinks/kafka/line-records.js'
import { toRecord, type RecordRules } from '../../../src/sinks/kafka/records.js'
import { fuzz } from '../../fixtures/fuzz.js'

const rules: RecordRules = { topic: 'logs', value: 'event' }
const lines = (...events: string[]) => Buffer.from(events.map((e) => `${e}\n`).join(''))
// what toRecord makes of the same event (its head is the line without "}")
const expected = (event: string, r = rules) => toRecord(event.slice(0, -1), r)
const same = (t: Tap.Test, got: ReturnType<typeof toRecord>, want: ReturnType<typeof toRecord>, what: string) => {
  t.equal(got.topic, want.topic, `${what}: topic`)
  t.equal(got.key, want.key, `${what}: key`)
  t.same(got.headers, want.headers, `${what}: headers`)
  t.equal(got.tail.toString('hex'), want.tail.toString('hex'), `${what}: the record's bytes`)
}

t.test('records from the lines equal those toRecord makes from the parsed events', async (t) => {
  const events = [
    '{"body":"hello","ts":1,"headers":{"app":"web"},"src":"a1","seq":3}',
    '{"body":"hello \\"src\\":\\"x\\" \\\\","ts":1,"headers":{"app":"web"},"src":"a1","seq":4}',
    '{"body":"two","headers":{"app":"db","n":"5"},"src":"b\\u00e9","seq":1}',
    '{"body":"no src"}',
    '{"body":"src not a string","src":5}',
    '{"body":"headers null","headers":null,"src":"a"}',
    '{"body":"headers array","headers":["x"],"src":"a"}',
    '{"body":"nested","x":{"src":"inner","a":[1,{"b":"}"}]},"src":"outer"}',
    '{"src":"first","body":"dup","src":"second"}',
    '{"body":"ünïcödé","headers":{"ключ":"значение"},"src":"ü"}',
    '{"body":"empty headers","headers":{},"src":"a"}',
    '{ "body":"whitespace: parsed instead" , "src":"w"}',
    '{"body":5,"src":"body not a string: parsed instead"}',
    '{"b\\u006fdy":"escaped name: parsed instead","src":"e"}',
  ]
  const got = new LineRecords(rules).records(lines(...events))
  t.equal(got.length, events.length)
  events.forEach((e, i) => same(t, got[i]!, expected(e), e))
  const r = { ...rules, keyHeader: 'user', topicHeader: 'dest' }
  const ev = [
    '{"body":"x","headers":{"user":"u1","dest":"other"},"src":"s"}',
    '{"body":"x","headers":{"dest":"other"},"src":"s"}',
    '{"body":"x","headers":{"dest":"bad topic"},"src":"s"}',
  ]
  const withRules = new LineRecords(r).records(lines(...ev))
  ev.forEach((e, i) => same(t, withRules[i]!, expected(e, r), `rules: ${e}`))
})

t.test('the scan gives up on what it does not recognise rather than guess', async (t) => {
  for (const bad of ['{}', '{"body":"x",}', '{"body":"x" }', '{"body":"unterminated}', '{"body":"x","h":{"a":"b"}']) {
    const b = Buffer.from(bad)
    t.equal(scanEvent(b, 0, b.length), undefined, bad)
  }
})

t.test('fuzzed valid events: the same records as toRecord', async (t) => {
  await fuzz(t, 'kafka line records', { cases: 1000 }, (rng) => {
    const event: Record<string, unknown> = { body: rng.nastyString(rng.int(0, 30)) }
    if (rng.int(0, 3)) event.src = rng.pick([rng.nastyString(rng.int(0, 8)), 5, null, 'same'])
    if (rng.int(0, 2))
      event.headers = rng.pick([{ [rng.nastyString(3)]: rng.nastyString(4) }, { dest: 'other', k: rng.nastyString(2) }, null, [], {}])
    if (rng.int(0, 2)) event.extra = rng.pick([{ src: 'no', headers: { a: '}' } }, ['"', '\\'], 1.5, true])
    const text = JSON.stringify(event)
    const r = { ...rules, keyHeader: 'k', topicHeader: 'dest' }
    const [got] = new LineRecords(r).records(lines(text))
    const want = expected(text, r)
    if (got!.key !== want.key || got!.topic !== want.topic || !got!.tail.equals(want.tail))
      throw new Error(`differs from toRecord: ${text}`)
  })
})
