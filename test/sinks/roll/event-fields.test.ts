import t from 'tap'
import { EventFields } from '../../../src/sinks/roll/event-fields.js'
import { fuzz, mutate } from '../../fixtures/fuzz.js'

// roll reads src, seq, ts, host, cont, headers and the body bytes without JSON.parse: for every
// event JSON.parse accepts, it must read the same values; for anything else, never throw.

const head = (event: object): Buffer => {
  const text = JSON.stringify(event)
  return Buffer.from(text.slice(0, -1)) // a head has no closing brace
}

const bodyOf = (fields: EventFields): Buffer => {
  const out = Buffer.alloc(fields.bodyBound() + 8)
  const n = fields.writeBody(out, 3)
  return n === -1 ? Buffer.from('<malformed>') : out.subarray(3, 3 + n)
}

t.test('reads what JSON.parse reads, for any field order, escapes and nesting', async (t) => {
  await fuzz(t, 'event fields match JSON.parse', { cases: 3000 }, (rng) => {
    const event: Record<string, unknown> = { body: rng.nastyString(rng.int(0, 60)) }
    if (rng.bool()) event.ts = rng.pick([1700000000123, 0, -5, 1.5e12, 12.25])
    if (rng.bool()) event.src = rng.pick(['abc.DEF_12', rng.nastyString(5), 7])
    if (rng.bool()) event.seq = rng.pick([1, 42, 2 ** 53 - 1, 2 ** 60, 1.5, -3])
    if (rng.bool()) event.host = rng.nastyString(rng.int(0, 8))
    if (rng.bool()) event.cont = rng.bool()
    if (rng.bool()) event.headers = { app: rng.nastyString(4), n: rng.int(0, 99), o: { x: [1, { y: 'z' }] }, '': '' }
    if (rng.bool()) event.extra = { deep: [[[{ a: '}]"\\' }]]] }
    const keys = Object.keys(event).sort(() => rng.next() - 0.5)
    const shuffled = Object.fromEntries(keys.map((k) => [k, event[k]]))
    const fields = new EventFields()
    if (!fields.read(head(shuffled))) throw new Error(`rejected ${JSON.stringify(shuffled)}`)
    const parsed = JSON.parse(JSON.stringify(shuffled)) as Record<string, unknown>
    const check = (what: string, got: unknown, want: unknown): void => {
      if (!Object.is(got, want) && JSON.stringify(got) !== JSON.stringify(want))
        throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)} in ${JSON.stringify(shuffled)}`)
    }
    check('body', bodyOf(fields).toString('hex'), Buffer.from(parsed.body as string).toString('hex'))
    check('ts', fields.ts, typeof parsed.ts === 'number' ? parsed.ts : NaN)
    check('seq', fields.seq, typeof parsed.seq === 'number' ? parsed.seq : NaN)
    check('src', fields.src(), typeof parsed.src === 'string' ? parsed.src : undefined)
    check('host', fields.host(), typeof parsed.host === 'string' ? parsed.host : undefined)
    check('cont', fields.cont, parsed.cont === true)
    const headers = parsed.headers as Record<string, unknown> | undefined
    for (const name of ['app', 'n', 'o', 'missing']) {
      const v = headers?.[name]
      check(`header ${name}`, fields.header(name), v === undefined ? undefined : typeof v === 'string' ? v : JSON.stringify(v))
    }
  })
})

t.test('body64 gives the exact bytes', async (t) => {
  const bytes = Buffer.from([0xff, 0x00, 0x0a, 0xc3])
  const fields = new EventFields()
  t.ok(fields.read(head({ body: '\ufffd', body64: bytes.toString('base64'), src: 's', seq: 1 })))
  t.same(bodyOf(fields), bytes)
})

t.test('hostile heads never throw and never recurse: damaged events, 20,000-deep nesting', async (t) => {
  const fields = new EventFields()
  const deep = Buffer.from(
    `{"body":"x","headers":{"a":${'['.repeat(20_000)}${']'.repeat(20_000)}},"x":${'{"a":'.repeat(20_000)}1${'}'.repeat(20_000)}`,
  )
  t.ok(fields.read(deep), 'a deep event is still an event')
  t.equal(fields.header('a'), '['.repeat(20_000) + ']'.repeat(20_000), 'a nested header is its JSON text')
  t.notOk(fields.read(Buffer.from('{"body":"x","h":' + '['.repeat(20_000))), 'unterminated nesting is not an event')
  const valid = head({ body: 'a "quoted" \\ line', ts: 1, host: 'h', headers: { a: 'b' }, src: 'abcdefgh', seq: 3 })
  await fuzz(t, 'event fields on damaged heads', { cases: 5000 }, (rng) => {
    const input = rng.bool(0.2) ? rng.bytes(rng.int(0, 200)) : mutate(rng, valid)
    if (fields.read(input)) {
      bodyOf(fields)
      fields.src()
      fields.host()
      fields.header('a')
    }
  })
})

t.test('not an event: no body, a body that is not a string, not an object', async (t) => {
  const fields = new EventFields()
  for (const bad of ['{"ts":1', '{"body":1', '["body"', 'plain text', '{"body":"x",', '{"body":"x" "ts":1', '{"body":"unterminated', '']) {
    t.notOk(fields.read(Buffer.from(bad)), bad)
  }
})

// roll reads heads where they lie in a batch's bytes (start, end) and has the body unescaped into
// a staging chunk it gives (placeBodyAt): the same bytes as read on their own, wherever they land.
t.test('a head read in place, its body placed into a given buffer, gives the same body', async (t) => {
  const alone = new EventFields()
  const fields = new EventFields()
  const target = Buffer.alloc(4096)
  await fuzz(t, 'placed bodies match', { cases: 2000 }, (rng) => {
    const event: Record<string, unknown> = { body: rng.nastyString(rng.int(0, 80)) }
    if (rng.bool(0.1)) event.body64 = Buffer.from([0xff, rng.int(0, 255)]).toString('base64')
    if (rng.bool()) event.ts = 1700000000123
    event.src = 'abc'
    event.seq = rng.int(1, 1000)
    const h = head(event)
    // the head inside a larger buffer, after other bytes (as in a batch of lines)
    const pad = rng.int(0, 7)
    const lines = Buffer.concat([Buffer.alloc(pad, 0x61), h, Buffer.from('\n{"body":"next"\n')])
    const at = rng.int(0, 100)
    fields.placeBodyAt(target, at)
    if (!fields.read(lines, pad, pad + h.length)) throw new Error(`rejected ${JSON.stringify(event)}`)
    if (!alone.read(h)) throw new Error('rejected alone')
    const want = bodyOf(alone).toString('hex')
    const placed = fields.placed()
    if (event.body64 !== undefined) {
      if (placed !== -1) throw new Error('a body64 event counts as placed')
    } else if (target.subarray(at, at + placed).toString('hex') !== want)
      throw new Error(`placed body differs for ${JSON.stringify(event)}`)
    if (rng.bool()) {
      // the place is about to be written over: the body moves to the reader's own scratch
      fields.detach()
      target.fill(0x7a, at, at + h.length)
      if (fields.placed() !== -1) throw new Error('still placed after detach')
    }
    if (bodyOf(fields).toString('hex') !== want) throw new Error(`written body differs for ${JSON.stringify(event)}`)
    // without placeBodyAt, the next read uses the scratch again
    if (!fields.read(h) || fields.placed() !== -1 || bodyOf(fields).toString('hex') !== want) throw new Error('scratch read differs')
  })
})
