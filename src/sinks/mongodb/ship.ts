import { EventEmitter } from 'node:events'
import { open, type FileHandle } from 'node:fs/promises'
import { hostname } from 'node:os'
import { MongoBulkWriteError, MongoClient, type Document, type MongoClientOptions } from 'mongodb'
import { describeSystemError, TsfError, UsageError } from '../../core/errors.js'
import { Backoff } from '../../core/backoff.js'
import { quote } from '../../core/json-string.js'
import { info, warn } from '../../core/log.js'
import type { Runtime } from '../../core/runtime.js'
import { awaitDelivery, deliveryExit, type ServerShipConfig } from '../delivery-end.js'
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
  const input = rt.input({ maxLine: config.maxLine, truncate: config.truncate })
  const queue = new SendQueue((head) => toWrite(head, rules), config)
  let inflightEvents = 0
  let inflight = 0
  let ended = false
  let closing = false
  let fatal: Error | undefined
  let lastError: string | undefined
  let failingSince = 0
  let setAsideCount = 0
  const events = new EventEmitter()
  events.setMaxListeners(0)
  rt.counters.gauge('ChannelSize', () => queue.events + inflightEvents)

  const changed = (): void => void events.emit('change')
  const nextChange = (): Promise<void> => new Promise((resolve) => events.once('change', () => resolve()))
  // a pause that closing cuts short
  const sleep = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(() => {
        events.off('close', done)
        resolve()
      }, ms)
      const done = (): void => {
        clearTimeout(timer)
        resolve()
      }
      events.once('close', done)
    })

  const finish = (item: Item, n: number): void => {
    item.left -= n
    if (item.left === 0) input.done(item.batch)
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
  const failed = (error: unknown): void => {
    let text = describeMongoError(error)
    if (tlsOn && text.startsWith('no server available'))
      text += ' (TLS is on: does the server speak TLS, and does --tls-ca or tlsCAFile name its CA?)'
    rt.counters.add('ConnectionFailedCount')
    if (!failingSince) {
      failingSince = Date.now()
      warn(`${where}: ${text}; retrying, nothing is dropped`)
    } else if (text !== lastError) warn(`${where}: ${text}`)
    lastError = text
  }
  const succeeded = (): void => {
    if (failingSince) info(`${where}: writing again after ${Math.round((Date.now() - failingSince) / 1000)} s`)
    failingSince = 0
    lastError = undefined
  }

  // Writes one collection's share of a send until each document is written, a duplicate of a
  // written one, or refused; retries with back-off while the server is away.
  const writeGroup = async (list: Pending[], refused: DocumentProblem[]): Promise<void> => {
    const { db, coll } = list[0]!.write
    let todo = list
    const backoff = new Backoff({ initial: 200, max: config.maxBackoff })
    for (;;) {
      if (closing) throw CLOSING
      try {
        await (await connected())
          .db(db)
          .collection<Document>(coll)
          .bulkWrite(
            todo.map((p) => p.write.model),
            { ordered: false },
          )
        rt.counters.add('EventDrainSuccessCount', todo.length)
        succeeded()
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
            succeeded()
            return
          }
          failed(error)
        } else if (error instanceof MongoBulkWriteError && error.result?.getWriteConcernError() && !isRetryableCode(error.code)) {
          throw new TsfError(`${where}: the write concern cannot be met: ${describeMongoError(error)} (ship needs journaled writes)`)
        } else if (isRetryable(error) || (error instanceof MongoBulkWriteError && networkText.test(String(error.message)))) {
          failed(error)
        } else if (todo.length > 1) {
          // the server (or the driver) refused the whole request: halve it to find the documents
          const half = todo.length >> 1
          await Promise.all([writeGroup(todo.slice(0, half), refused), writeGroup(todo.slice(half), refused)])
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
        await sleep(backoff.next())
      }
    }
  }

  const send = async (taken: Pending[], unwritable: Refused[]): Promise<void> => {
    const n = taken.length + unwritable.length
    rt.counters.add('EventDrainAttemptCount', n)
    rt.counters.add(n >= config.batchEvents ? 'BatchCompleteCount' : 'BatchUnderflowCount')
    inflightEvents += n
    const groups = new Map<string, Pending[]>()
    for (const p of taken) {
      const list = groups.get(p.write.ns)
      if (list) list.push(p)
      else groups.set(p.write.ns, [p])
    }
    const refused: DocumentProblem[] = unwritable.map((r) => r.problem)
    await Promise.all([...groups.values()].map((list) => writeGroup(list, refused)))
    if (refused.length) await setAside(refused)
    inflightEvents -= n
    queue.release(taken)
    for (const p of taken) finish(p.item, 1)
    for (const r of unwritable) finish(r.item, 1)
  }

  const sender = async (): Promise<void> => {
    while (!closing && !fatal) {
      if (inflight >= config.inFlight) {
        await nextChange()
        continue
      }
      if (queue.events === 0) {
        if (ended && inflight === 0) return
        await nextChange()
        continue
      }
      if (config.linger > 0 && inflight > 0 && !ended && queue.events < config.batchEvents && queue.bytes < config.batchBytes) {
        await Promise.race([sleep(config.linger), nextChange()])
      }
      const { taken, unwritable } = queue.take()
      if (taken.length + unwritable.length === 0) {
        await nextChange()
        continue
      }
      inflight++
      send(taken, unwritable)
        .catch((error: Error) => {
          if (error !== CLOSING) fatal ??= error
        })
        .finally(() => {
          inflight--
          changed()
        })
    }
  }

  const sending = sender().then(() => {
    if (fatal) input.stop()
  })
  const fatalWatch = (): void => {
    if (fatal) input.stop()
  }
  events.on('change', fatalWatch)

  const stopped = new Promise<void>((resolve) => rt.stop.addEventListener('abort', () => resolve(), { once: true }))
  try {
    for await (const batch of input.batches()) {
      rt.counters.add('EventTakeSuccessCount', batch.heads.length)
      if (batch.heads.length === 0) {
        input.done(batch)
        continue
      }
      queue.push(batch)
      changed()
      while (queue.bytes > config.window && !fatal && !rt.stop.aborted) await Promise.race([nextChange(), stopped])
      if (fatal) break
    }
    ended = true
    changed()
    const end = { rt, input, shutdownTimeout: config.shutdownTimeout }
    const drained = async (): Promise<void> => {
      await sending
      while (inflight > 0) await nextChange()
    }
    const wait = await awaitDelivery(end, drained(), () => queue.events + inflightEvents, 'written to MongoDB')
    const left = queue.events + inflightEvents
    if (fatal) throw new TsfError(`${fatal.message}; ${left} events stay unacked upstream`)
    if (setAsideCount) warn(`${setAsideCount} events set aside${rejects ? ` in ${config.rejects}` : ' (their lines are above)'}`)
    return deliveryExit(end, left, wait, where, lastError ?? 'no answer from MongoDB')
  } finally {
    closing = true
    events.emit('close')
    changed()
    const closeClient = async (): Promise<void> => {
      const last = client ?? (await connecting?.catch(() => undefined))
      await last?.close(true).catch(() => undefined)
    }
    await Promise.race([closeClient(), new Promise((resolve) => setTimeout(resolve, 2000).unref())])
    await rejects?.close().catch(() => undefined)
  }
}
