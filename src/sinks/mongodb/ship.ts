import { open, type FileHandle } from 'node:fs/promises'
import { hostname } from 'node:os'
import { MongoBulkWriteError, MongoClient, type Document, type MongoClientOptions } from 'mongodb'
import { describeSystemError, TsfError, UsageError } from '../../core/errors.js'
import { quote } from '../../core/json-string.js'
import type { InputBatch } from '../../core/link/reader.js'
import { warn } from '../../core/log.js'
import type { Runtime } from '../../core/runtime.js'
import { runBatchSink, type BatchDriver, type FailureRun } from '../batch-sink.js'
import type { ServerShipConfig } from '../delivery-end.js'
import { toWrite, type DocumentProblem, type DocumentRules } from './documents.js'
import { SendQueue, type Item, type Pending, type Refused } from './send-queue.js'
import { describeMongoError, isAuthError, isRetryable, isRetryableCode } from './errors.js'
import type { MongoUrl } from './url.js'

// A send is one unordered bulk write per collection; linger: how long a partial batch may wait
// while other sends are in flight.
export interface MongoShipConfig extends ServerShipConfig {
  url: MongoUrl
  rules: Omit<DocumentRules, 'database' | 'collection'>
  // sends in flight at once
  inFlight: number
  tls: { ca?: Buffer; cert?: Buffer; key?: Buffer }
  // events MongoDB refuses are appended here (else their lines go to stderr)
  rejects?: string
}

// A send: what SendQueue.take() cut.
interface Send {
  taken: Pending[]
  unwritable: Refused[]
}

const CLOSING = new Error('closing')
const networkText = /connect|ECONN|EPIPE|socket|timed? ?out|closed|server selection|pool|network|shutdown/i

// tsf ship mongodb://hosts/DB/COLLECTION: stdin → MongoDB. Sends are unordered bulk writes with a
// journaled write concern, several in flight; an input batch is acked upstream only once every
// document of it is written (or set aside). Inserts carry an _id derived from the event's src and
// seq, so a re-sent event is a duplicate key, counted as already written: exactly once.
export const runMongoShip = async (config: MongoShipConfig, rt: Runtime): Promise<number> => {
  const rules: DocumentRules = { ...config.rules, database: config.url.database, collection: config.url.collection }
  const where = config.url.name
  const clientOptions: MongoClientOptions = {
    appName: `tsf-ship@${hostname()}`,
    serverSelectionTimeoutMS: config.connectTimeout,
    connectTimeoutMS: config.connectTimeout,
    socketTimeoutMS: config.requestTimeout,
    // acked upstream only once MongoDB wrote the journal
    journal: true,
    maxPoolSize: Math.max(config.inFlight * 2, 10),
    ...(config.tls.ca || config.tls.cert ? { tls: true } : {}),
    ...(config.tls.ca ? { ca: config.tls.ca } : {}),
    ...(config.tls.cert ? { cert: config.tls.cert, key: config.tls.key } : {}),
  }
  const newClient = (): MongoClient => {
    const client = new MongoClient(config.url.connection, clientOptions)
    client.on('connectionCreated', () => rt.counters.add('ConnectionCreatedCount'))
    client.on('connectionClosed', () => rt.counters.add('ConnectionClosedCount'))
    return client
  }
  let unacknowledged = false
  try {
    // options the driver refuses are usage errors, said before reading anything
    const probe = newClient()
    unacknowledged = probe.options.writeConcern?.w === 0
    await probe.close()
  } catch (error) {
    throw new UsageError(`${where}: ${describeMongoError(error)}`)
  }
  // w=0 makes the driver send without waiting for an answer (j: true or not): nothing would
  // confirm a batch before it is acked upstream
  if (unacknowledged)
    throw new UsageError(`${where}: w=0 (unacknowledged writes) cannot be exactly once; ship acks only what MongoDB confirmed`)
  // A client whose first connect failed stays closed ("Topology is closed"): each attempt until
  // one connects starts a new one. Once connected, the driver itself follows the server.
  let client: MongoClient | undefined
  let connecting: Promise<MongoClient> | undefined
  const connected = (): Promise<MongoClient> => {
    if (client) return Promise.resolve(client)
    connecting ??= (async () => {
      const fresh = newClient()
      try {
        await fresh.connect()
        client = fresh
        return fresh
      } catch (error) {
        void fresh.close().catch(() => undefined)
        throw error
      } finally {
        connecting = undefined
      }
    })()
    return connecting
  }
  const reconnect = (error: unknown): void => {
    if ((error as Error)?.name !== 'MongoTopologyClosedError' || !client) return
    void client.close().catch(() => undefined)
    client = undefined
  }
  let rejects: FileHandle | undefined
  if (config.rejects) {
    try {
      rejects = await open(config.rejects, 'a')
    } catch (error) {
      throw new TsfError(`--rejects ${config.rejects}: ${describeSystemError(error)}`)
    }
  }
  const queue = new SendQueue((head) => toWrite(head, rules), config)
  let setAsideCount = 0

  const finish = (item: Item, completed: InputBatch[]): void => {
    item.left -= 1
    if (item.left === 0) completed.push(item.batch)
  }

  // Documents MongoDB cannot take: one line each on stderr, the event kept in --rejects (synced
  // before its batch is acked) or, without it, in that line.
  let asideChain = Promise.resolve()
  const setAside = (problems: DocumentProblem[]): Promise<void> => {
    rt.counters.add('EventWriteFailCount', problems.length)
    setAsideCount += problems.length
    for (const p of problems)
      warn(`${where}: ${p.where}: event ${p.label} set aside: ${p.error}${rejects ? ` (kept in ${config.rejects})` : `: ${p.line}`}`)
    if (!rejects) return Promise.resolve()
    const file = rejects
    const text = problems
      .map((p) => `${p.line.slice(0, p.line.lastIndexOf('}'))},"mongodb_error":${quote(`${p.where}: ${p.error}`)}}\n`)
      .join('')
    // one append at a time, so lines never interleave
    asideChain = asideChain.then(async () => {
      await file.appendFile(text)
      await file.datasync()
    })
    return asideChain
  }

  const tlsOn = Boolean(clientOptions.tls) || /[?&](tls|ssl)=true\b/i.test(config.url.connection)
  const describe = (error: unknown): string => {
    const text = describeMongoError(error)
    return tlsOn && text.startsWith('no server available')
      ? `${text} (TLS is on: does the server speak TLS, and does --tls-ca or tlsCAFile name its CA?)`
      : text
  }

  // Writes one collection's share of a send until each document is written, a duplicate of a
  // written one, or refused; retries with back-off while the server is away.
  const writeGroup = async (list: Pending[], refused: DocumentProblem[], failures: FailureRun): Promise<void> => {
    const { db, coll } = list[0]!.write
    let todo = list
    const backoff = failures.backoff()
    for (;;) {
      if (failures.closing) throw CLOSING
      try {
        await (await connected())
          .db(db)
          .collection<Document>(coll)
          .bulkWrite(
            todo.map((p) => p.write.model),
            { ordered: false },
          )
        rt.counters.add('EventDrainSuccessCount', todo.length)
        failures.succeeded()
        return
      } catch (error) {
        if (isAuthError(error)) throw new TsfError(`${where}: ${describeMongoError(error)}`)
        reconnect(error)
        let again: Pending[] = todo
        if (error instanceof MongoBulkWriteError && error.writeErrors && (!Array.isArray(error.writeErrors) || error.writeErrors.length)) {
          again = []
          const bad = new Set<number>()
          let duplicates = 0
          for (const we of Array.isArray(error.writeErrors) ? error.writeErrors : [error.writeErrors]) {
            const p = todo[we.index]!
            bad.add(we.index)
            if (we.code === 11000 && p.write.op === 'insert') duplicates++
            else if (isRetryableCode(we.code)) again.push(p)
            else
              refused.push({
                line: p.write.line,
                where: p.write.ns,
                label: p.write.label,
                error: `${we.errmsg ?? 'refused'} (code ${we.code})`,
              })
          }
          if (duplicates) rt.counters.add('EventDuplicateCount', duplicates)
          // a write concern error: what was written may not be durable yet, so it is written again
          if (error.result?.getWriteConcernError()) again = todo.filter((_, i) => !bad.has(i)).concat(again)
          else rt.counters.add('EventDrainSuccessCount', todo.length - bad.size + duplicates)
          if (again.length === 0) {
            failures.succeeded()
            return
          }
          failures.failed(describe(error))
        } else if (error instanceof MongoBulkWriteError && error.result?.getWriteConcernError() && !isRetryableCode(error.code)) {
          throw new TsfError(`${where}: the write concern cannot be met: ${describeMongoError(error)} (ship needs journaled writes)`)
        } else if (isRetryable(error) || (error instanceof MongoBulkWriteError && networkText.test(String(error.message)))) {
          failures.failed(describe(error))
        } else if (todo.length > 1) {
          // the server (or the driver) refused the whole request: halve it to find the documents
          const half = todo.length >> 1
          await Promise.all([writeGroup(todo.slice(0, half), refused, failures), writeGroup(todo.slice(half), refused, failures)])
          return
        } else {
          refused.push({
            line: todo[0]!.write.line,
            where: todo[0]!.write.ns,
            label: todo[0]!.write.label,
            error: describeMongoError(error),
          })
          return
        }
        todo = again
        await failures.pause(backoff.next())
      }
    }
  }

  const driver: BatchDriver<Send> = {
    get events() {
      return queue.events
    },
    get bytes() {
      return queue.bytes
    },
    push(batch) {
      if (batch.heads.length) queue.push(batch)
      return batch.heads.length
    },
    take() {
      const send = queue.take()
      return send.taken.length + send.unwritable.length ? send : undefined
    },
    size: (send) => send.taken.length + send.unwritable.length,
    async send({ taken, unwritable }, failures) {
      const n = taken.length + unwritable.length
      rt.counters.add('EventDrainAttemptCount', n)
      rt.counters.add(n >= config.batchEvents ? 'BatchCompleteCount' : 'BatchUnderflowCount')
      const groups = new Map<string, Pending[]>()
      for (const p of taken) {
        const list = groups.get(p.write.ns)
        if (list) list.push(p)
        else groups.set(p.write.ns, [p])
      }
      const refused: DocumentProblem[] = unwritable.map((r) => r.problem)
      await Promise.all([...groups.values()].map((list) => writeGroup(list, refused, failures)))
      if (refused.length) await setAside(refused)
    },
    delivered({ taken, unwritable }) {
      queue.release(taken)
      const completed: InputBatch[] = []
      for (const p of taken) finish(p.item, completed)
      for (const r of unwritable) finish(r.item, completed)
      return completed
    },
    inFlight: () => config.inFlight,
    finished() {
      if (setAsideCount) warn(`${setAsideCount} events set aside${rejects ? ` in ${config.rejects}` : ' (their lines are above)'}`)
    },
    async close() {
      const closeClient = async (): Promise<void> => {
        const last = client ?? (await connecting?.catch(() => undefined))
        await last?.close(true).catch(() => undefined)
      }
      await Promise.all([closeClient(), rejects?.close().catch(() => undefined)])
    },
  }
  return runBatchSink(config, rt, driver, {
    where,
    what: 'written to MongoDB',
    silence: 'no answer from MongoDB',
    resumed: 'writing',
    input: { maxLine: config.maxLine, truncate: config.truncate },
  })
}
