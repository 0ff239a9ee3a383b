// Reading what ship wrote, with the same driver (tests only).
import { MongoClient, type Document } from 'mongodb'
import { uniqueName } from '../../fixtures/servers.js'

export const withClient = async <T>(address: string, fn: (client: MongoClient) => Promise<T>): Promise<T> => {
  const client = new MongoClient(`mongodb://${address}/`, { serverSelectionTimeoutMS: 10_000 })
  try {
    return await fn(client)
  } finally {
    await client.close()
  }
}

export const findAll = (address: string, db: string, coll: string): Promise<Document[]> =>
  withClient(address, (c) => c.db(db).collection(coll).find().sort({ _id: 1 }).toArray())

export const countDocs = (address: string, db: string, coll: string): Promise<number> =>
  withClient(address, (c) => c.db(db).collection(coll).countDocuments())

// MongoDB database names: no '-' trouble, but at most 63 bytes and no '.'
export const dbName = (prefix: string): string =>
  uniqueName(prefix)
    .replace(/[^A-Za-z0-9_]/g, '_')
    .slice(0, 60)

// Polls an async check until it holds (bounded).
export const eventually = async (check: () => Promise<boolean>, ms: number, what: () => string): Promise<void> => {
  const deadline = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
