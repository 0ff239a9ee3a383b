import { Option, type Command } from '../core/commander.js'
import { UsageError } from '../core/errors.js'
import { runCommand } from '../core/runtime.js'
import { OPS } from '../sinks/mongodb/ops.js'
import { isMongoUrl, parseMongoUrl } from '../sinks/mongodb/url.js'
import { choice, collect, given, refuseGiven } from './common.js'
import { readTlsFiles, refuseEmptyBatches, refuseHalfCertificate, type ShipFlags } from './ship-flags.js'

// ship's mongodb:// destination: its options, and the wiring to src/sinks/mongodb/ship.ts.

export { isMongoUrl }

const fieldPath = (value: string): string[] => {
  const path = value.split('.')
  if (path.some((p) => p === '')) throw new UsageError(`--timestamp-field: '${value}' is not a field path (NAME or NAME.NAME...)`)
  return path
}

export const addMongoOptions = (cmd: Command): Command =>
  cmd
    .addOption(
      new Option(
        '--timestamp-field <path>',
        'mongodb://: turn this field (dotted path; repeatable) from epoch milliseconds or ISO-8601 text into a date',
      ).argParser(collect((v: string) => v)),
    )
    .addOption(
      new Option(
        '--op <op>',
        'mongodb://: insert, upsert ($set on the document\'s _id) or replace (on its _id), for events without an "op" header (default: insert)',
      ).argParser(choice('--op', OPS)),
    )
    .option(
      '--rejects <file>',
      'mongodb://: append events MongoDB refuses here (synced before they are acked), instead of printing them on stderr',
    )

// The other destinations refuse what only MongoDB understands.
export const refuseMongoOptions = (cmd: Command): void => {
  refuseGiven(cmd, ['timestampField', 'op', 'rejects'], 'applies to mongodb:// destinations only')
}

export const shipToMongo = (dests: string[], flags: ShipFlags, cmd: Command): Promise<number> => {
  if (dests.length !== 1)
    throw new UsageError(
      'a mongodb:// destination goes alone: tsf ship mongodb://HOST[,HOST...]/DATABASE/COLLECTION (several hosts of a replica set go in the one URL)',
    )
  const url = parseMongoUrl(dests[0]!)
  refuseGiven(
    cmd,
    [
      'failover',
      'balance',
      'compress',
      'tokenFile',
      'agent',
      'acks',
      'keyHeader',
      'topicHeader',
      'value',
      'reportInterval',
      'reportUpstream',
    ],
    'does not apply to mongodb:// destinations',
  )
  refuseEmptyBatches(flags)
  refuseHalfCertificate(flags)
  const timestampFields = (flags.timestampField ?? []).map(fieldPath)
  // one send is one bulk write per collection; 1000 is what every MongoDB takes in one command
  const batchEvents = given(cmd, 'batch') ? flags.batch : 1000
  const tls = readTlsFiles(flags)
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
