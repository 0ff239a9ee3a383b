import t from 'tap'
import { Binary } from 'mongodb'
import { toWrite, type DocumentRules, type DocumentWrite } from '../../../src/sinks/mongodb/documents.js'
import { parseMongoUrl } from '../../../src/sinks/mongodb/url.js'

const url = parseMongoUrl('mongodb://h/%{db:-logs}/%{collection:-events}')
const rules = (more: Partial<DocumentRules> = {}): DocumentRules => ({
  database: url.database,
  collection: url.collection,
  op: 'insert',
  timestampFields: [],
  ...more,
})
const head = (event: Record<string, unknown>): string => JSON.stringify(event).slice(0, -1)
const write = (event: Record<string, unknown>, more?: Partial<DocumentRules>): DocumentWrite => {
  const w = toWrite(head(event), rules(more))
  if (!('model' in w)) throw new Error(`not a write: ${w.error}`)
  return w
}

t.test('a body holding a JSON object is the document; an insert gets an _id from src and seq', async (t) => {
  const w = write({ body: '{"user":"ann","n":1}', src: 'abc.1', seq: 7, headers: { db: 'app', collection: 'users' } })
  t.same([w.db, w.coll, w.ns, w.op], ['app', 'users', 'app.users', 'insert'])
  t.same(w.model, { insertOne: { document: { user: 'ann', n: 1, _id: 'abc.1:7' } } })
  t.ok(w.derivedId)
  t.equal(w.label, 'abc.1:7')
  const own = write({ body: '{"_id":5,"n":1}', src: 'abc.1', seq: 8 })
  t.same(own.model, { insertOne: { document: { _id: 5, n: 1 } } }, "the document's own _id wins")
  t.notOk(own.derivedId)
  t.same([own.db, own.coll], ['logs', 'events'], 'the URL defaults without headers')
  t.equal(
    Buffer.isBuffer(own.line) ? 'buffer' : own.line,
    '{"body":"{\\"_id\\":5,\\"n\\":1}","src":"abc.1","seq":8}',
    'the event line is kept for rejects',
  )
  const fromBuffer = toWrite(Buffer.from(head({ body: '{"a":1}', src: 's', seq: 1 })), rules())
  t.same('model' in fromBuffer && fromBuffer.model, { insertOne: { document: { a: 1, _id: 's:1' } } }, 'heads as bytes too')
})

t.test('any other body is wrapped as {body, ts, host, headers}; bytes that are not UTF-8 as binary', async (t) => {
  const w = write({ body: 'plain text', ts: 1700000000000, host: 'web1', headers: { app: 'x' }, src: 's', seq: 1 })
  t.same(w.model, {
    insertOne: { document: { body: 'plain text', ts: new Date(1700000000000), host: 'web1', headers: { app: 'x' }, _id: 's:1' } },
  })
  const arr = write({ body: '[1,2]' })
  t.same(arr.model, { insertOne: { document: { body: '[1,2]' } } }, 'a JSON array is not a document; no src: no derived _id')
  t.notOk(arr.derivedId)
  const broken = write({ body: '{"oops' })
  t.same(broken.model, { insertOne: { document: { body: '{"oops' } } })
  const bin = write({ body: 'a\ufffdb', body64: Buffer.from([0x61, 0xff, 0x62]).toString('base64') })
  const doc = (bin.model as { insertOne: { document: { body: Binary } } }).insertOne.document
  t.ok(doc.body instanceof Binary)
  t.same(Buffer.from(doc.body.buffer), Buffer.from([0x61, 0xff, 0x62]), 'the exact bytes')
})

t.test('a piece of a line cut at --max-line upstream is never taken for a document: wrapped and marked', async (t) => {
  // the first piece of a cut line that happens to parse as an object on its own
  const first = write({ body: '{"_id":"big","a":1}', cont: true, src: 's', seq: 1 })
  t.same(first.model, { insertOne: { document: { body: '{"_id":"big","a":1}', cont: true, _id: 's:1' } } }, 'marked cont')
  const cut = write({ body: 'the start of a long line', truncated: true, src: 's', seq: 2 })
  t.same(cut.model, { insertOne: { document: { body: 'the start of a long line', truncated: true, _id: 's:2' } } })
  const upsert = toWrite(head({ body: '{"_id":"big","blob":"xxx', cont: true, src: 's', seq: 3 }), rules({ op: 'upsert' }))
  t.match('error' in upsert && upsert.error, /a piece of a line longer than --max-line.*raise --max-line/, 'the reason is named')
})

t.test('--timestamp-field: epoch ms or ISO text to dates, dotted paths, arrays walked; other values kept', async (t) => {
  const w = write(
    {
      body: JSON.stringify({
        _S: 1700000000000,
        meta: { at: '2024-01-02T03:04:05Z', list: [{ t: 0 }, { t: 1000 }] },
        bad: 'soon',
        none: null,
      }),
    },
    { timestampFields: [['_S'], ['meta', 'at'], ['meta', 'list', 't'], ['bad'], ['absent', 'x'], ['none']] },
  )
  const doc = (w.model as { insertOne: { document: Record<string, unknown> } }).insertOne.document
  t.same(doc._S, new Date(1700000000000))
  t.same((doc.meta as { at: Date }).at, new Date('2024-01-02T03:04:05Z'))
  t.same((doc.meta as { list: { t: Date }[] }).list, [{ t: new Date(0) }, { t: new Date(1000) }])
  t.equal(doc.bad, 'soon', 'not a date: written as it is')
  t.equal(doc.none, null)
  t.notOk('absent' in doc)
})

t.test('upsert sets the fields on the document with that _id; replace replaces it; both keyed for ordering', async (t) => {
  const up = write({ body: '{"_id":"u1","n":2}', headers: { op: 'upsert' } })
  t.same(up.model, { updateOne: { filter: { _id: { $eq: 'u1' } }, update: { $set: { n: 2 } }, upsert: true } })
  t.equal(up.key, 'logs.events\0string:u1')
  const onlyId = write({ body: '{"_id":"u1"}' }, { op: 'upsert' })
  t.same(
    onlyId.model,
    { replaceOne: { filter: { _id: { $eq: 'u1' } }, replacement: { _id: 'u1' }, upsert: true } },
    'nothing to $set: a replace',
  )
  const rep = write({ body: '{"_id":{"a":1},"n":3}' }, { op: 'replace' })
  t.same(rep.model, { replaceOne: { filter: { _id: { $eq: { a: 1 } } }, replacement: { _id: { a: 1 }, n: 3 }, upsert: true } })
  t.equal(rep.key, 'logs.events\0{"a":1}')
  t.notOk(write({ body: '{"_id":1}' }).key, 'inserts need no ordering')
  t.not(
    write({ body: '{"_id":1}' }, { op: 'upsert' }).key,
    write({ body: '{"_id":"1"}' }, { op: 'upsert' }).key,
    '1 and "1" are different _ids',
  )
})

t.test('events that cannot be written say why', async (t) => {
  const strict = parseMongoUrl('mongodb://h/%{db}/%{collection}')
  const problem = (event: Record<string, unknown>, op: DocumentRules['op'] = 'insert'): string => {
    const w = toWrite(head(event), { database: strict.database, collection: strict.collection, op, timestampFields: [] })
    if ('model' in w) throw new Error('a write')
    return `${w.where}: ${w.error} [${w.label}]`
  }
  t.equal(problem({ body: '{}', headers: { collection: 'c' } }), "%{db}.c: no header 'db' to name the database [without src]")
  t.equal(
    problem({ body: '{}', headers: { db: 'd' }, src: 's', seq: 1 }),
    "d.%{collection}: no header 'collection' to name the collection [s:1]",
  )
  t.match(
    problem({ body: '{}', headers: { db: 'bad.db', collection: 'c' } }),
    /^bad\.db\.c: headers name an invalid namespace: database name 'bad\.db' holds '\.'/,
  )
  t.match(
    problem({ body: '{}', headers: { db: 'd', collection: 'c', op: 'delete' } }),
    /header op='delete' is not insert, upsert or replace/,
  )
  t.match(
    problem({ body: '{"n":1}', headers: { db: 'd', collection: 'c' } }, 'upsert'),
    /upsert needs the document's own _id, and this one has none/,
  )
  t.match(problem({ body: 'text', headers: { db: 'd', collection: 'c', op: 'replace' } }), /replace needs the document's own _id/)
  // each name within its own limit, the two together over MongoDB's 255 bytes
  t.match(
    problem({ body: '{}', headers: { db: 'd'.repeat(60), collection: 'c'.repeat(200) } }),
    /headers name an invalid namespace: namespace 'd+\.c+' is longer than 255 bytes/,
  )
})

t.test('a document nested deeper than MongoDB stores is set aside, not a RangeError for the batch', async (t) => {
  const { BSON } = await import('mongodb')
  const nested = (levels: number): string => `${'{"a":'.repeat(levels)}1${'}'.repeat(levels)}`
  for (const body of [`{"_id":1,"x":${'['.repeat(20_000)}${']'.repeat(20_000)}}`, nested(20_000), nested(101)]) {
    for (const op of ['insert', 'upsert', 'replace'] as const) {
      const w = toWrite(`{"body":${JSON.stringify(body)},"src":"s","seq":1`, rules({ op }))
      t.match(w, { error: /nested deeper than MongoDB's 100 levels/ }, `${op} of ${body.length} bytes: set aside`)
    }
  }
  const ok = toWrite(`{"body":${JSON.stringify(nested(99))},"src":"s","seq":1`, rules()) as DocumentWrite
  t.ok('model' in ok, '99 levels are written')
  t.ok(BSON.serialize((ok.model as { insertOne: { document: object } }).insertOne.document).length > 0)
})

t.test('a field name holding NUL is set aside, not a BSONError for the batch', async (t) => {
  const { BSON } = await import('mongodb')
  for (const event of [
    { body: '{"_id":1,"a\\u0000b":1}', src: 's', seq: 1 },
    { body: '{"_id":1,"deep":[{"x":{"\\u0000":2}}]}', src: 's', seq: 2 },
    { body: 'text', headers: { 'h\u0000': 'v' }, src: 's', seq: 3 },
  ]) {
    for (const op of ['insert', 'upsert', 'replace'] as const) {
      const w = toWrite(head(event), rules({ op }))
      t.match(w, { error: /^field name "[^"]*\\u0000[^"]*" holds NUL, which BSON cannot store$/ }, `${op} of ${event.body}: set aside`)
    }
  }
  const w = write({ body: '{"_id":1,"a.b":1,"$c":2}', body64: undefined, src: 's', seq: 4 })
  t.ok(
    BSON.serialize((w.model as { insertOne: { document: object } }).insertOne.document).length > 0,
    'other odd names are left to the server',
  )
  const bin = write({ body: 'x', body64: Buffer.alloc(100_000, 1).toString('base64'), src: 's', seq: 5 })
  t.ok(
    (bin.model as { insertOne: { document: { body: unknown } } }).insertOne.document.body instanceof Binary,
    'a binary body is not walked byte by byte',
  )
})
