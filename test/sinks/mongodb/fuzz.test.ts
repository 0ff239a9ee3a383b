import t from 'tap'
import { BSON } from 'mongodb'
import { isTsfError } from '../../../src/core/errors.js'
import { toWrite, type DocumentRules } from '../../../src/sinks/mongodb/documents.js'
import { expand, parseMongoUrl } from '../../../src/sinks/mongodb/url.js'
import { fuzz, mutations } from '../../fixtures/fuzz.js'

// Hostile input never throws out of ship's per-event path: every event becomes a write the driver
// can serialise, or a problem that names it (set aside). Hostile URLs are usage errors.

const url = parseMongoUrl('mongodb://h/%{db:-d}/%{collection:-c}_x')
const ops: DocumentRules['op'][] = ['insert', 'upsert', 'replace']
const valid = JSON.stringify({
  body: JSON.stringify({ _id: 'a', n: 1, _S: 1700000000000, meta: { at: '2024-01-01T00:00:00Z', list: [{ t: 1 }] } }),
  ts: 1,
  host: 'h',
  headers: { db: 'app', collection: 'users', op: 'upsert' },
  src: 's',
  seq: 1,
})

t.test('any event head: a write BSON can encode, or a problem saying why', async (t) => {
  await fuzz(t, 'mongodb toWrite', { cases: 3000 }, (rng) => {
    const body = rng.pick([
      () => rng.nastyString(rng.int(0, 40)),
      () =>
        `{"_id":${JSON.stringify(rng.nastyString(rng.int(0, 8)))},${JSON.stringify(rng.nastyString(rng.int(0, 8)))}:${rng.pick(['1', 'null', '[]', '{}', '"x"', '-1e308', '1e400', 'true'])}}`,
      () =>
        JSON.stringify({
          _id: rng.pick([1, 'x', null, [1], { a: 1 }, true]),
          _S: rng.pick([0, -1, 1e20, 'x', '2024-13-45', null, [], {}, NaN]),
        }),
    ])()
    const headers = rng.bool(0.8)
      ? {
          db: rng.pick(['ok', '', 'a.b', rng.nastyString(rng.int(0, 70))]),
          collection: rng.nastyString(rng.int(0, 5)),
          op: rng.pick([...ops, 'x', '']),
        }
      : rng.pick([undefined, 'str', [1], null])
    const event = JSON.stringify({
      body,
      headers,
      src: rng.pick(['s', 7, undefined, 'a\nb']),
      seq: rng.pick([1, 'x', undefined]),
      ts: rng.pick([1, 'x', undefined]),
      body64: rng.pick([undefined, undefined, '////', '%%']),
    })
    const heads: (string | Buffer)[] = [event.slice(0, -1), ...mutations(rng, valid).map((b) => b.subarray(0, Math.max(0, b.length - 1)))]
    for (const head of heads) {
      const w = toWrite(head, {
        database: url.database,
        collection: url.collection,
        op: rng.pick(ops),
        timestampFields: [['_S'], ['meta', 'at'], ['meta', 'list', 't']],
      })
      if ('model' in w) {
        const m = w.model as Record<string, { document?: object; replacement?: object; update?: object; filter?: object }>
        const inner = Object.values(m)[0]!
        BSON.serialize(inner.document ?? inner.replacement ?? inner.update ?? {})
        if (w.db.length === 0 || w.coll.length === 0) throw new Error(`empty namespace ${w.ns}`)
        if (/[\n\r]/.test(w.ns + w.label)) throw new Error(`names in messages must be one line: ${JSON.stringify(w.ns)}`)
      } else if (typeof w.error !== 'string' || w.error === '' || /[\n\r]/.test(w.error + w.where + w.label)) {
        throw new Error(`a problem must be one line: ${JSON.stringify(w)}`)
      }
    }
  })
})

t.test('any URL: parsed, or a usage error', async (t) => {
  const good = 'mongodb://ann:pw@h1:27017,h2/%{db:-d}/c_%{app}?tls=true&replicaSet=rs0'
  await fuzz(t, 'mongodb URL', { cases: 3000 }, (rng) => {
    for (const text of [
      rng.nastyString(rng.int(0, 60)),
      `mongodb://${rng.nastyString(rng.int(0, 30))}`,
      ...mutations(rng, good).map((b) => b.toString('utf8')),
    ]) {
      try {
        const u = parseMongoUrl(text)
        expand(u.database, { db: 'x', app: 'y' })
        if (u.name.includes(':pw@')) throw new Error(`password in the name: ${u.name}`)
      } catch (e) {
        if (!isTsfError(e)) throw e
        if ((e as Error).message.includes('\n')) throw new Error(`a usage error must be one line: ${(e as Error).message}`)
      }
    }
  })
})
