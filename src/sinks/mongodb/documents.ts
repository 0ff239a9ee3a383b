import { Binary, type AnyBulkWriteOperation, type Document } from 'mongodb'
import { parseEventLine, type EventHead, type TsfEvent } from '../../core/event.js'
import { warnOnce } from '../../core/log.js'
import { OPS, type Op } from './ops.js'
import { collectionProblem, databaseProblem, expand, namespaceProblem, shown, type MongoUrl } from './url.js'

export interface DocumentRules {
  database: MongoUrl['database']
  collection: MongoUrl['collection']
  // the operation of events without an "op" header (Flume's default: insert)
  op: Op
  // dotted paths of fields turned into dates (epoch milliseconds or ISO-8601 text)
  timestampFields: string[][]
}

// One event, ready to write: its namespace, the operation, and the key that orders writes to the
// same document (upserts and replaces only).
export interface DocumentWrite {
  db: string
  coll: string
  ns: string
  op: Op
  model: AnyBulkWriteOperation<Document>
  key?: string
  // the event line as it came (for rejects, with an error added)
  line: string
  bytes: number
  // insert with an _id derived from src and seq: a duplicate key means "already written"
  derivedId: boolean
  // which event, for messages: "src:seq", or the _id
  label: string
}

export interface DocumentProblem {
  line: string
  where: string
  error: string
  label: string
}

const CLOSE = Buffer.from('}')

// An event head → the write that stores it, or the reason it cannot be written (set aside).
export const toWrite = (head: EventHead, rules: DocumentRules): DocumentWrite | DocumentProblem => {
  const line = typeof head === 'string' ? head + '}' : Buffer.concat([head, CLOSE]).toString('utf8')
  const event = parseEventLine(line)
  const headers = event.headers && typeof event.headers === 'object' ? event.headers : undefined
  const db = expand(rules.database, headers)
  const coll = expand(rules.collection, headers)
  const id = typeof event.src === 'string' && typeof event.seq === 'number' ? `${event.src}:${event.seq}` : 'without src'
  const label = /[\x00-\x1f\x7f\u2028\u2029]/.test(id) ? JSON.stringify(id) : id
  const ns = `${'name' in db ? db.name : `%{${db.missing}}`}.${'name' in coll ? coll.name : `%{${coll.missing}}`}`
  const where = /[\x00-\x1f\x7f\u2028\u2029]/.test(ns) ? JSON.stringify(ns) : ns
  if ('missing' in db) return { line, where, error: `no header '${db.missing}' to name the database`, label }
  if ('missing' in coll) return { line, where, error: `no header '${coll.missing}' to name the collection`, label }
  const problem = databaseProblem(db.name) ?? collectionProblem(coll.name) ?? namespaceProblem(db.name, coll.name)
  if (problem) return { line, where, error: `headers name an invalid namespace: ${problem}`, label }
  const wanted = headers?.op ?? rules.op
  if (!OPS.includes(wanted as Op))
    return { line, where, error: `header op=${shown(String(wanted))} is not insert, upsert or replace`, label }
  const op = wanted as Op
  const doc = toDocument(event)
  // The driver serialises a whole batch at once: a document BSON cannot hold would throw for
  // every event in it, so such a poison event is set aside here
  const unfit = unstorable(doc, MAX_DEPTH, line.includes('u0000'))
  if (unfit) return { line, where, error: unfit, label }
  for (const path of rules.timestampFields) toDate(doc, path, 0)
  const bytes = line.length
  if (op === 'insert') {
    let derivedId = false
    if (doc._id === undefined && typeof event.src === 'string' && typeof event.seq === 'number') {
      // the same event delivered again gets the same _id: MongoDB refuses it as a duplicate
      doc._id = `${event.src}:${event.seq}`
      derivedId = true
    }
    return { db: db.name, coll: coll.name, ns: where, op, model: { insertOne: { document: doc } }, line, bytes, derivedId, label }
  }
  if (event.cont === true)
    return {
      line,
      where,
      error: `a piece of a line longer than --max-line, cut upstream, has no _id for ${op} (raise --max-line on every command of the pipeline, up to MongoDB's 16M)`,
      label,
    }
  if (doc._id === undefined || doc._id === null)
    return { line, where, error: `${op} needs the document's own _id, and this one has none`, label }
  const key = `${where}\0${typeof doc._id === 'object' ? JSON.stringify(doc._id) : `${typeof doc._id}:${String(doc._id)}`}`
  const { _id, ...fields } = doc
  // $eq: an _id such as {"$gt": ""} is a value to match, not a query that reaches other documents
  const filter = { _id: { $eq: _id } }
  const model: AnyBulkWriteOperation<Document> =
    op === 'upsert' && Object.keys(fields).length > 0
      ? { updateOne: { filter, update: { $set: fields }, upsert: true } }
      : { replaceOne: { filter, replacement: doc, upsert: true } }
  return { db: db.name, coll: coll.name, ns: where, op, model, key, line, bytes, derivedId: false, label }
}

const MAX_DEPTH = 100

// Why BSON cannot hold a document, or undefined: nested more than `levels` deep (MongoDB stores
// 100 levels and the driver's serialiser recurses: a RangeError), or a field name holding NUL
// (BSON names are NUL-terminated: a BSONError). Names are looked at only when the line holds an
// escaped NUL at all (JSON can carry one no other way). Stops at the first problem.
const unstorable = (value: object, levels: number, names: boolean): string | undefined => {
  if (levels === 0) return `the document is nested deeper than MongoDB's ${MAX_DEPTH} levels`
  if (Array.isArray(value)) {
    for (const v of value) {
      const problem = walked(v) ? unstorable(v, levels - 1, names) : undefined
      if (problem) return problem
    }
    return undefined
  }
  for (const k in value) {
    if (names && k.includes('\0')) return `field name ${shown(k)} holds NUL, which BSON cannot store`
    const v = (value as Record<string, unknown>)[k]
    const problem = walked(v) ? unstorable(v, levels - 1, names) : undefined
    if (problem) return problem
  }
  return undefined
}

// An object or array to look into: not the Binary of a body that is not UTF-8 (walking it would
// cost a loop per byte of the body).
const walked = (v: unknown): v is object => v !== null && typeof v === 'object' && !(v instanceof Binary)

// A body holding a JSON object is the document; anything else is wrapped as {body, ts, host,
// headers} (Flume's autoWrap), with the exact bytes as binary when they are not UTF-8. A piece of
// a line cut upstream (cont, truncated) is never a document, and keeps its mark when wrapped, so
// it is not taken for a whole line.
export const toDocument = (event: TsfEvent): Document => {
  const body = event.body
  const piece = event.cont === true || event.truncated === true
  if (body.charCodeAt(0) === 0x7b /* { */ && event.body64 === undefined && !piece) {
    try {
      const value = JSON.parse(body) as unknown
      if (value && typeof value === 'object' && !Array.isArray(value)) return value as Document
    } catch {
      // not JSON: wrapped below
    }
  }
  const doc: Document = { body: typeof event.body64 === 'string' ? new Binary(Buffer.from(event.body64, 'base64')) : body }
  if (typeof event.ts === 'number') doc.ts = new Date(event.ts)
  if (typeof event.host === 'string') doc.host = event.host
  if (event.headers && typeof event.headers === 'object') doc.headers = event.headers
  if (event.cont === true) doc.cont = true
  if (event.truncated === true) doc.truncated = true
  return doc
}

// Numbers are epoch milliseconds; text is anything Date.parse reads (ISO-8601). Arrays on the path
// are walked element by element.
const toDate = (node: unknown, path: string[], at: number): void => {
  if (Array.isArray(node)) {
    for (const item of node) toDate(item, path, at)
    return
  }
  if (!node || typeof node !== 'object') return
  const record = node as Record<string, unknown>
  const key = path[at]!
  if (!(key in record)) return
  if (at < path.length - 1) toDate(record[key], path, at + 1)
  else record[key] = Array.isArray(record[key]) ? (record[key] as unknown[]).map((v) => asDate(v, path)) : asDate(record[key], path)
}

const asDate = (value: unknown, path: string[]): unknown => {
  if (typeof value === 'number' && Number.isFinite(value)) return new Date(value)
  if (typeof value === 'string') {
    const ms = Date.parse(value)
    if (!Number.isNaN(ms)) return new Date(ms)
  }
  if (value instanceof Date || value === null || value === undefined) return value
  warnOnce(
    `timestamp:${path.join('.')}`,
    `--timestamp-field ${path.join('.')}: ${JSON.stringify(value)} is neither epoch milliseconds nor a date text; such values are written as they are`,
  )
  return value
}
