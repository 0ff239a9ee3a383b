import t from 'tap'
import { classifyLine } from '../../src/core/link/cursor.js'
import { Chain } from '../../src/transforms/chain.js'
import { EventView } from '../../src/transforms/event-view.js'
import { staticHeaders } from '../../src/transforms/static-headers.js'
import {
  dropBody,
  dropIf,
  extract,
  keepBody,
  keepIf,
  removeHeader,
  renameHeader,
  setHeader,
  setHost,
  staticHeader,
  tsFromBody,
  tsFromField,
  tsNow,
} from '../../src/transforms/steps.js'
import { fuzz, mutations } from '../fixtures/fuzz.js'

// A head as EventInput hands it out: the line without its cursor and closing brace.
const head = (line: string): string => String(classifyLine(Buffer.from(line)).head)
const run = (chain: Chain, line: string): Record<string, unknown> | undefined => {
  const out = chain.apply(head(line))
  return out === undefined ? undefined : (JSON.parse(`${String(out)}}`) as Record<string, unknown>)
}
const tsfLine =
  '{"body":"2026-12-02T10:00:00Z ERROR db: disk \\"sda\\" full","ts":1,"host":"a","headers":{"file":"/var/log/app.log","type":"db"},"src":"s","seq":7,"_ack":"AAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBB.7"}'

t.test('regex_filter: --keep and --drop look at the body, escapes decoded', async (t) => {
  t.ok(run(new Chain([keepBody('disk "sda"')]), tsfLine))
  t.notOk(run(new Chain([dropBody('ERROR')]), tsfLine))
  t.notOk(run(new Chain([keepBody('^DEBUG')]), tsfLine))
  t.ok(run(new Chain([keepBody('^plain')]), 'plain text line'), 'a plain line is an event with that body')
})

t.test('--keep-if / --drop-if: FIELD=VALUE exactly, FIELD~REGEX, missing fields match neither', async (t) => {
  t.ok(run(new Chain([keepIf('headers.type=db')]), tsfLine))
  t.notOk(run(new Chain([keepIf('headers.type=d')]), tsfLine), '= is exact')
  t.ok(run(new Chain([keepIf('headers.type~^d')]), tsfLine))
  t.notOk(run(new Chain([keepIf('headers.nope~.*')]), tsfLine), 'missing header')
  t.ok(run(new Chain([keepIf('host=a'), keepIf('src=s'), keepIf('seq=7')]), tsfLine), 'top-level fields')
  t.notOk(run(new Chain([dropIf('headers.type=db')]), tsfLine))
  t.ok(run(new Chain([dropIf('headers.type=web')]), tsfLine))
  t.throws(() => keepIf('type'), /expected FIELD=VALUE or FIELD~REGEX/)
  t.throws(() => keepIf('body~('), /--keep-if: not a valid regular expression/)
})

t.test('regex_extractor: named groups become headers; no named group is a usage error', async (t) => {
  const e = run(new Chain([extract('(?<level>[A-Z]{4,}) (?<part>\\w+):')]), tsfLine)!
  t.same(e.headers, { file: '/var/log/app.log', type: 'db', level: 'ERROR', part: 'db' })
  t.equal(e.body, '2026-12-02T10:00:00Z ERROR db: disk "sda" full', 'the body is untouched')
  t.equal(e.seq, 7)
  t.same(run(new Chain([extract('(?<x>nomatch)')]), tsfLine)!.headers, { file: '/var/log/app.log', type: 'db' })
  t.throws(() => extract('([A-Z]+)'), /name the groups/)
})

t.test('static, --set, remove_header, rename: in the order given', async (t) => {
  t.same(
    run(new Chain([staticHeader('type=web'), staticHeader('dc=eu')]), tsfLine)!.headers,
    { file: '/var/log/app.log', type: 'db', dc: 'eu' },
    '-H keeps an existing value',
  )
  t.same(run(new Chain([setHeader('type=web')]), tsfLine)!.headers, { file: '/var/log/app.log', type: 'web' }, '--set replaces it')
  t.same(run(new Chain([removeHeader('file')]), tsfLine)!.headers, { type: 'db' })
  t.notOk('headers' in run(new Chain([removeHeader('/^(file|type)$/')]), tsfLine)!, 'no headers left: no headers field')
  t.same(run(new Chain([renameHeader('type=kind'), setHeader('type=x')]), tsfLine)!.headers, {
    file: '/var/log/app.log',
    kind: 'db',
    type: 'x',
  })
  t.same(run(new Chain([setHeader('a=1')]), 'plain')!.headers, { a: '1' }, 'an event without headers gets them')
  t.same(run(new Chain([setHeader('a=b=c')]), 'plain')!.headers, { a: 'b=c' })
  t.throws(() => setHeader('novalue'), /expected KEY=VALUE/)
})

t.test('host and timestamp', async (t) => {
  t.equal(run(new Chain([setHost('web-1')]), tsfLine)!.host, 'web-1')
  t.equal(run(new Chain([setHost('web-1')]), 'plain')!.host, 'web-1')
  t.equal(run(new Chain([tsFromBody(undefined, 'iso8601')]), tsfLine)!.ts, Date.parse('2026-12-02T10:00:00Z'))
  t.equal(run(new Chain([tsFromBody('^(\\S+)', undefined)]), tsfLine)!.ts, Date.parse('2026-12-02T10:00:00Z'))
  t.equal(run(new Chain([tsFromField('headers.t')]), '{"body":"x","headers":{"t":"1764669600"}}')!.ts, 1764669600000, 'epoch seconds')
  t.equal(run(new Chain([tsFromField('when')]), '{"body":"x","when":1764669600123}')!.ts, 1764669600123, 'epoch ms, a top-level field')
  const missing = tsFromField('headers.t')
  t.equal(run(new Chain([missing]), tsfLine)!.ts, 1, 'not found: the ts is kept')
  t.equal(missing.missed, 1, 'and counted')
  const before = Date.now()
  t.ok((run(new Chain([tsNow()]), tsfLine)!.ts as number) >= before)
})

t.test('an event no step changed is forwarded as its very bytes; a changed one keeps field order', async (t) => {
  const h = classifyLine(Buffer.from(tsfLine)).head
  t.equal(new Chain([keepBody('ERROR')]).apply(h), h, 'the same Buffer, not a copy')
  const out = String(new Chain([setHeader('type=web')]).apply(h))
  t.equal(
    out,
    '{"body":"2026-12-02T10:00:00Z ERROR db: disk \\"sda\\" full","ts":1,"host":"a","headers":{"file":"/var/log/app.log","type":"web"},"src":"s","seq":7',
  )
})

t.test('odd but valid JSON events: spaces, nested objects, body not first, escaped keys', async (t) => {
  const e = run(new Chain([setHeader('k=v'), keepIf('headers.a=1')]), '{ "x" : {"y":[1,{"z":"}"}]}, "body" : "b", "headers" : {"a":"1"} }')!
  t.same(e, { x: { y: [1, { z: '}' }] }, body: 'b', headers: { a: '1', k: 'v' } })
  t.equal(new EventView('{"body":"a\\\\"').body(), 'a\\', 'a body ending in an escaped backslash')
})

t.test('pieces of a cut line: the first decides, the others follow; cont stays the last field', async (t) => {
  const piece = (seq: number, cont: boolean, body: string): string =>
    `{"body":"${body}","ts":1,"src":"s","seq":${seq}${cont ? ',"cont":true' : ''}`
  const chain = new Chain([extract('^(?<type>db|web) '), keepIf('headers.type=db'), setHost('h')])
  const out = [piece(1, true, 'db a'), piece(2, true, 'xx'), piece(3, false, 'yy'), piece(4, true, 'web b'), piece(5, false, 'db?')].map(
    (h) => chain.apply(h),
  )
  t.same(
    out.map((h) => h && String(h)),
    [
      '{"body":"db a","ts":1,"src":"s","seq":1,"host":"h","headers":{"type":"db"},"cont":true',
      '{"body":"xx","ts":1,"src":"s","seq":2,"host":"h","headers":{"type":"db"},"cont":true',
      '{"body":"yy","ts":1,"src":"s","seq":3,"host":"h","headers":{"type":"db"}',
      undefined,
      undefined,
    ],
    'kept whole with the same headers and host, or dropped whole',
  )
  // a piece whose seq does not follow (the line sent again from its start) is judged afresh
  const again = new Chain([keepIf('body~^db')])
  t.ok(again.apply(piece(7, true, 'web x')) === undefined)
  t.ok(again.apply(piece(7, true, 'db x')) !== undefined, 'a new run, not the rest of the dropped one')
})

t.test('-H on a stage: nothing when not given, in place otherwise', async (t) => {
  t.equal(staticHeaders(undefined), undefined)
  t.equal(staticHeaders({}), undefined)
  const heads = [head('plain'), head(tsfLine)]
  staticHeaders({ dc: 'eu', type: 'x' })!(heads)
  t.same(JSON.parse(`${String(heads[0])}}`).headers, { dc: 'eu', type: 'x' })
  t.same(JSON.parse(`${String(heads[1])}}`).headers, { file: '/var/log/app.log', type: 'db', dc: 'eu' })
})

t.test('hostile lines never throw, and an event that came in as JSON goes out as JSON', async (t) => {
  const chain = new Chain([
    extract('(?<w>\\w+)'),
    setHeader('k=v'),
    renameHeader('w=word'),
    setHost('h'),
    tsFromBody(undefined, 'iso8601'),
    dropBody('^$'),
  ])
  await fuzz(t, 'filter chain on hostile lines', { cases: 3000 }, (rng) => {
    const line = rng.pick([rng.bytes(rng.int(0, 200)), ...mutations(rng, tsfLine), ...mutations(rng, '{"body":"x","headers":{"a":"b"}}')])
    const h = classifyLine(line).head
    let valid = true
    try {
      JSON.parse(`${String(h)}}`)
    } catch {
      valid = false // a damaged line that still looks like a tsf event: stages pass those on as they are
    }
    const out = chain.apply(h)
    if (out !== undefined && valid) {
      const e = JSON.parse(`${String(out)}}`) as Record<string, unknown>
      if (typeof e.body !== 'string' || e.host !== 'h') throw new Error(`not an event with host h: ${String(out)}`)
    }
  })
})
