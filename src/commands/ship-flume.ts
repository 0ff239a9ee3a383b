import type { Command } from 'commander'
import { UsageError } from '../core/errors.js'
import { readSecretFile } from '../core/wire/secrets.js'
import { isFlumeUrl, parseFlumeDestinations } from '../sinks/flume-avro/destination.js'
import { runFlumeShip } from '../sinks/flume-avro/ship.js'
import type { ShipFlags } from './ship.js'

// ship's flume+avro:// destination: its option, and the wiring to src/sinks/flume-avro/ship.ts.

export { isFlumeUrl }

type FlumeFlags = ShipFlags

export const addFlumeOptions = (cmd: Command): Command =>
  cmd.option('--flume-ssl', 'flume+avro://: TLS (ssl = true on the Flume source), verified with --tls-ca or the system CAs')

// the Flume options given to another kind of destination
export const refuseFlumeOptions = (flags: Pick<FlumeFlags, 'flumeSsl' | 'compress'>): void => {
  if (flags.flumeSsl || flags.compress === 'deflate') throw new UsageError('--flume-ssl and --compress deflate apply to flume+avro:// destinations only')
}

// flume+avro://host:port[,...]: Flume avro sources, with the TCP destinations' failover and balance.
// One call in flight per source unless told otherwise: Flume's source may commit pipelined calls
// out of order.
export const shipToFlume = (dests: string[], flags: FlumeFlags, cmd: Command): Promise<number> => {
  for (const [set, name] of [[flags.tokenFile, '--token-file'], [flags.keyHeader, '--key-header'], [flags.topicHeader, '--topic-header'], [flags.compress === 'gzip' || flags.compress === 'snappy', `--compress ${flags.compress}`]] as const) {
    if (set) throw new UsageError(`${name} does not apply to flume+avro:// destinations`)
  }
  if (flags.failover && flags.balance) throw new UsageError('--failover and --balance exclude each other')
  if (Boolean(flags.tlsCert) !== Boolean(flags.tlsKey)) throw new UsageError('--tls-cert and --tls-key go together')
  const inFlight = cmd.getOptionValueSource('inFlight') === 'default' ? 1 : flags.inFlight
  // Flume's avro sink sends batch-size 100 by default; bigger batches are fine for its source
  const batch = cmd.getOptionValueSource('batch') === 'default' ? 1000 : flags.batch
  return runFlumeShip({
    destinations: parseFlumeDestinations(dests, Boolean(flags.flumeSsl)),
    policy: flags.balance ?? 'failover',
    batchEvents: batch,
    batchBytes: flags.batchBytes,
    linger: flags.linger,
    inFlight,
    maxPenalty: Math.max(flags.maxPenalty, 1),
    connectTimeout: flags.connectTimeout,
    ackTimeout: flags.ackTimeout,
    tls: {
      ca: flags.tlsCa ? readSecretFile(flags.tlsCa, '--tls-ca') : undefined,
      cert: flags.tlsCert ? readSecretFile(flags.tlsCert, '--tls-cert') : undefined,
      key: flags.tlsKey ? readSecretFile(flags.tlsKey, '--tls-key') : undefined,
    },
    flume: { deflate: flags.compress === 'deflate' },
    window: Math.max(flags.batchBytes * inFlight * 2, 4 * 1024 * 1024),
    maxLine: flags.maxLine,
    truncate: flags.truncate,
    shutdownTimeout: flags.shutdownTimeout,
    metrics: flags.metrics,
    headers: flags.header,
    bestEffort: flags.bestEffort,
  })
}
