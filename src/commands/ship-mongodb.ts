import { Option, type Command } from 'commander'
import { UsageError } from '../core/errors.js'
import { runCommand } from '../core/runtime.js'
import { readSecretFile } from '../core/wire/secrets.js'
import { OPS, type Op } from '../sinks/mongodb/ops.js'
import { isMongoUrl, parseMongoUrl } from '../sinks/mongodb/url.js'
import { choice, collect, type ReaderOptions, type RunnerOptions } from './common.js'

// ship's mongodb:// destination: its options, and the wiring to src/sinks/mongodb/ship.ts.

export { isMongoUrl }

export interface MongoFlags extends ReaderOptions, RunnerOptions {
  batch: number
  batchBytes: number
  linger: number
  inFlight: number
  maxPenalty: number
  connectTimeout: number
  ackTimeout: number
  tlsCa?: string
  tlsCert?: string
  tlsKey?: string
  timestampField?: string[]
  op?: Op
  rejects?: string
}

const fieldPath = (value: string): string[] => {
  const path = value.split('.')
  if (path.some((p) => p === '')) throw new UsageError(`--timestamp-field: '${value}' is not a field path (NAME or NAME.NAME...)`)
  return path
}

export const addMongoOptions = (cmd: Command): Command =>
  cmd
    .addOption(new Option('--timestamp-field <path>', 'mongodb://: turn this field (dotted path; repeatable) from epoch milliseconds or ISO-8601 text into a date').argParser(collect((v: string) => v)))
    .addOption(new Option('--op <op>', "mongodb://: insert, upsert ($set on the document's _id) or replace (on its _id), for events without an \"op\" header (default: insert)").argParser(choice('--op', OPS)))
    .option('--rejects <file>', 'mongodb://: append events MongoDB refuses here (synced before they are acked), instead of printing them on stderr')

const optionName = (name: string): string => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`
const given = (cmd: Command, name: string): boolean => {
  const source = cmd.getOptionValueSource(name)
  return source !== undefined && source !== 'default'
}

// The other destinations refuse what only MongoDB understands.
export const refuseMongoOptions = (cmd: Command): void => {
  for (const name of ['timestampField', 'op', 'rejects']) {
    if (given(cmd, name)) throw new UsageError(`${optionName(name)} applies to mongodb:// destinations only`)
  }
}

export const shipToMongo = (dests: string[], flags: MongoFlags, cmd: Command): Promise<number> => {
  if (dests.length !== 1) throw new UsageError('a mongodb:// destination goes alone: tsf ship mongodb://HOST[,HOST...]/DATABASE/COLLECTION (several hosts of a replica set go in the one URL)')
  const url = parseMongoUrl(dests[0]!)
  for (const name of ['failover', 'balance', 'compress', 'tokenFile', 'agent', 'acks', 'keyHeader', 'topicHeader', 'value', 'reportInterval', 'reportUpstream']) {
    if (given(cmd, name)) throw new UsageError(`${optionName(name)} does not apply to mongodb:// destinations`)
  }
  if (flags.batch < 1) throw new UsageError('--batch: at least 1')
  if (flags.inFlight < 1) throw new UsageError('--in-flight: at least 1')
  if (Boolean(flags.tlsCert) !== Boolean(flags.tlsKey)) throw new UsageError('--tls-cert and --tls-key go together')
  const timestampFields = (flags.timestampField ?? []).map(fieldPath)
  // one send is one bulk write per collection; 1000 is what every MongoDB takes in one command
  const batchEvents = given(cmd, 'batch') ? flags.batch : 1000
  const tls = {
    ca: flags.tlsCa ? readSecretFile(flags.tlsCa, '--tls-ca') : undefined,
    cert: flags.tlsCert ? readSecretFile(flags.tlsCert, '--tls-cert') : undefined,
    key: flags.tlsKey ? readSecretFile(flags.tlsKey, '--tls-key') : undefined,
  }
  return runCommand({ component: 'ship', shutdownTimeout: flags.shutdownTimeout, metrics: flags.metrics }, async (rt) =>
    // the MongoDB driver loads only when MongoDB is used: every other command starts faster
    (await import('../sinks/mongodb/ship.js')).runMongoShip(
      {
        url,
        rules: { op: flags.op ?? 'insert', timestampFields },
        batchEvents,
        batchBytes: flags.batchBytes,
        inFlight: flags.inFlight,
        linger: flags.linger,
        connectTimeout: flags.connectTimeout,
        requestTimeout: flags.ackTimeout,
        maxBackoff: Math.max(flags.maxPenalty, 100),
        window: Math.max(flags.batchBytes * flags.inFlight * 2, 16 * 1024 * 1024),
        maxLine: flags.maxLine,
        truncate: flags.truncate,
        shutdownTimeout: flags.shutdownTimeout,
        tls,
        rejects: flags.rejects,
      },
      rt,
    ),
  )
}
