import t from 'tap'
import { isTsfError } from '../../../src/core/errors.js'
import {
  collectionProblem,
  databaseProblem,
  expand,
  hideSecret,
  isMongoUrl,
  namespaceProblem,
  parseMongoUrl,
  parseTemplate,
} from '../../../src/sinks/mongodb/url.js'

t.test('hosts, database and collection; options pass to the driver; the password is hidden in messages', async (t) => {
  const u = parseMongoUrl('mongodb://db1:27017,db2/logs/events?replicaSet=rs0&tls=true')
  t.equal(u.connection, 'mongodb://db1:27017,db2/?replicaSet=rs0&tls=true')
  t.same(u.database, { parts: [{ text: 'logs' }], fixed: 'logs' })
  t.same(u.collection, { parts: [{ text: 'events' }], fixed: 'events' })
  const secret = parseMongoUrl('mongodb://ann:s3cret@[::1]:27017/logs/events/')
  t.equal(secret.connection, 'mongodb://ann:s3cret@[::1]:27017/', 'credentials go to the driver')
  t.equal(secret.name, 'mongodb://ann:***@[::1]:27017/logs/events/', 'but never into a message')
  t.equal(parseMongoUrl('mongodb+srv://cluster.example.com/a/b').connection, 'mongodb+srv://cluster.example.com/')
  t.ok(isMongoUrl(' MONGODB://h/a/b'))
  t.ok(isMongoUrl('mongodb+srv://h/a/b'))
  t.notOk(isMongoUrl('kafka://h/t'))
})

t.test('every password is hidden, however odd the URL', async (t) => {
  for (const [url, shown] of [
    ['mongodb://ann:pw@h1,h2/a/b', 'mongodb://ann:***@h1,h2/a/b'],
    ['mongodb://ann:SE/CRET@h1/a/b', 'mongodb://ann:***@h1/a/b'],
    ['mongodb://ann:SE:CRET@h1/a/b', 'mongodb://ann:***@h1/a/b'],
    ['mongodb://h1:27017/a/b', 'mongodb://h1:27017/a/b'],
    ['mongodb://ann@h1:27017/a/b', 'mongodb://ann@h1:27017/a/b'],
    ['MONGODB+SRV://ann:pw@cluster/a/b', 'MONGODB+SRV://ann:***@cluster/a/b'],
    ['mongodb://ann:pw@h1:27017,bob:pw2@h2/a/b', 'mongodb://ann:***@h2/a/b'],
    ['mongodb://ann:p@ss:w@rd@h1/a/b', 'mongodb://ann:***@h1/a/b'],
    ['mongodb://ann:p/w@h1/a/b', 'mongodb://ann:***@h1/a/b'],
    ['mongodb://ann:pw@h1/a/b?x=1&bob:pw2@h2', 'mongodb://ann:***@h2'],
    ['mongodb://h1/a/b?authMechanismProperties=x:pw@y', 'mongodb://h1/a/b?authMechanismProperties=x:***@y'],
    ['ann:pw@h1', 'ann:***@h1'],
  ]) {
    t.equal(hideSecret(url!), shown, url)
    try {
      t.notMatch(parseMongoUrl(url!).name, /pw|p@ss|w@rd|ss:w|:SE|CRET/, `${url}: parsed, no password in its name`)
    } catch (e) {
      if (!isTsfError(e)) throw e
      t.notMatch(e.message, /pw|p@ss|w@rd|ss:w|:SE|CRET/, `${url}: refused without the password`)
    }
  }
})

t.test('%{header} escapes, with :- defaults, in the database and the collection', async (t) => {
  const u = parseMongoUrl('mongodb://h/%{db}/logs_%{app:-web}')
  t.same(u.database, { parts: [{ header: 'db' }] })
  t.same(u.collection, { parts: [{ text: 'logs_' }, { header: 'app', fallback: 'web' }] })
  t.same(expand(u.collection, { app: 'api' }), { name: 'logs_api' })
  t.same(expand(u.collection, {}), { name: 'logs_web' }, 'the default when the header is absent')
  t.same(expand(u.collection, { app: '' }), { name: 'logs_web' }, 'or empty')
  t.same(expand(u.database, { other: 'x' }), { missing: 'db' }, 'no default: the missing header is named')
  t.same(expand(u.database, undefined), { missing: 'db' })
  t.same(expand(parseTemplate('%{a}-%{b}', 'collection', 'u'), { a: '1', b: '2' }), { name: '1-2' })
})

t.test('malformed URLs are usage errors that say what is expected', async (t) => {
  const cases: [string, RegExp][] = [
    ['mongodb://', /no host|expected/],
    ['mongodb://h', /expected \/DATABASE\/COLLECTION/],
    ['mongodb://h/db', /expected \/DATABASE\/COLLECTION/],
    ['mongodb://h/db/', /expected \/DATABASE\/COLLECTION/],
    ['mongodb://h//c', /expected \/DATABASE\/COLLECTION/],
    ['mongodb://h/a/b/c', /expected \/DATABASE\/COLLECTION/],
    ['mongodb:///a/b', /no host/],
    ['mongodb://h:0/a/b', /'h:0' is not a host/],
    ['mongodb://h:70000/a/b', /not a host/],
    ['mongodb://h x/a/b', /not a host/],
    ['mongodb+srv://h:27017/a/b', /one host name without a port/],
    ['mongodb://h/a.b/c', /database name 'a\.b' holds '\.'/],
    ['mongodb://h/a$/c', /holds '\$'/],
    ['mongodb://h/a/system.x', /reserved/],
    ['mongodb://h/a/c$', /holds '\$'/],
    ['mongodb://h/%{d b}/c', /expected %\{HEADER\} or %\{HEADER:-DEFAULT\}/],
    ['mongodb://h/%{}/c', /expected %\{HEADER\}/],
    ['mongodb://h/x%{db/c', /unclosed/],
  ]
  for (const [url, why] of cases) {
    t.throws(() => parseMongoUrl(url), { message: why, exitCode: 2 }, url)
  }
})

t.test("MongoDB's namespace rules", async (t) => {
  t.equal(databaseProblem('logs_2024-01'), undefined)
  t.match(databaseProblem(''), /empty/)
  t.match(databaseProblem('x'.repeat(64)), /longer than 63 bytes/)
  for (const c of ['/', '\\', '.', '"', '$', ' ', '\0']) t.ok(databaseProblem(`a${c}b`), JSON.stringify(c))
  t.equal(collectionProblem('app.events'), undefined, 'dots are fine in a collection')
  t.match(collectionProblem(''), /empty/)
  t.match(collectionProblem('.a'), /starts or ends/)
  t.match(collectionProblem('x'.repeat(201)), /longer/)
  t.equal(namespaceProblem('d'.repeat(54), 'c'.repeat(200)), undefined, '255 bytes with the dot')
  t.match(namespaceProblem('d'.repeat(55), 'c'.repeat(200)), /longer than 255 bytes/)
})
