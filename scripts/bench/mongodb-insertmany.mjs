// The baseline of the mongodb workloads: the official driver's own insertMany of the same
// documents tsf ship writes (each event wrapped as {_id: src:seq, body, ts, host, headers}),
// unordered, journaled. usage: node mongodb-insertmany.mjs EVENTS.ndjson HOST:PORT DB COLLECTION
import { readFileSync } from 'node:fs'
import { MongoClient } from 'mongodb'

const [file, address, db, coll] = process.argv.slice(2)
const docs = []
for (const line of readFileSync(file, 'utf8').split('\n')) {
  if (!line) continue
  const e = JSON.parse(line)
  docs.push({ _id: `${e.src}:${e.seq}`, body: e.body, ts: new Date(e.ts), host: e.host, headers: e.headers })
}
const client = new MongoClient(`mongodb://${address}/`, { journal: true })
try {
  const r = await client.db(db).collection(coll).insertMany(docs, { ordered: false })
  process.stderr.write(`insertMany: ${r.insertedCount} documents\n`)
} finally {
  await client.close()
}
