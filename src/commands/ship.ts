import { Command, Option } from 'commander'
import { UsageError } from '../core/errors.js'
import { readSecretFile, readToken } from '../core/wire/secrets.js'
import { parseDestinations } from '../sinks/tcp/destination.js'
import { runShip } from '../sinks/tcp/ship.js'
import type { Policy } from '../sinks/tcp/sink.js'
import { addReaderOptions, addRunnerOptions, choice, count, duration, size, type ReaderOptions, type RunnerOptions } from './common.js'

interface ShipFlags extends ReaderOptions, RunnerOptions {
  failover?: boolean
  balance?: 'round-robin' | 'random'
  batch: number
  batchBytes: number
  linger: number
  inFlight: number
  maxPenalty: number
  connectTimeout: number
  ackTimeout: number
  compress?: 'gzip'
  tlsCa?: string
  tlsCert?: string
  tlsKey?: string
  tokenFile?: string
}

export const makeShipCommand = (): Command => {
  const cmd = new Command('ship')
    .description('send events from stdin to tsf collectors over TCP, acked end to end, with failover or load balancing')
    .argument('<dest...>', 'host:port, tcp://host:port or tls://host:port; several, comma-separated or repeated, in priority order')
    .option('--failover', 'send to the first live destination in the order given (the default with several)')
    .addOption(new Option('--balance <how>', 'spread batches over live destinations').argParser(choice('--balance', ['round-robin', 'random'])))
    .addOption(new Option('--batch <events>', 'most events in one batch').default(2000).argParser(count('--batch')))
    .addOption(new Option('--batch-bytes <size>', 'most bytes in one batch').default(1024 * 1024, '1M').argParser(size('--batch-bytes')))
    .addOption(new Option('--linger <duration>', 'with batches in flight, how long a partial batch may wait to fill').default(0, '0ms').argParser(duration('--linger')))
    .addOption(new Option('--in-flight <batches>', 'batches in flight per destination before waiting for acks').default(4).argParser(count('--in-flight')))
    .addOption(new Option('--max-penalty <duration>', 'longest back-off of a failed destination').default(30_000, '30s').argParser(duration('--max-penalty')))
    .addOption(new Option('--connect-timeout <duration>', 'connect and handshake deadline').default(5_000, '5s').argParser(duration('--connect-timeout')))
    .addOption(new Option('--ack-timeout <duration>', 'a batch not acked within this re-goes elsewhere').default(30_000, '30s').argParser(duration('--ack-timeout')))
    .addOption(new Option('--compress <how>', 'compress batches when the collector agrees').argParser(choice('--compress', ['gzip'])))
    .option('--tls-ca <file>', 'CA certificates to verify tls:// collectors (default: the system ones)')
    .option('--tls-cert <file>', 'client certificate for collectors that require one')
    .option('--tls-key <file>', 'private key of --tls-cert')
    .option('--token-file <file>', 'shared secret proven to collectors by challenge-response (never sent)')
  addReaderOptions(cmd)
  addRunnerOptions(cmd)
  return cmd.action(async (dests: string[], flags: ShipFlags) => {
    const destinations = parseDestinations(dests)
    if (flags.failover && flags.balance) throw new UsageError('--failover and --balance exclude each other')
    if (Boolean(flags.tlsCert) !== Boolean(flags.tlsKey)) throw new UsageError('--tls-cert and --tls-key go together')
    if (flags.batch < 1) throw new UsageError('--batch: at least 1')
    if (flags.inFlight < 1) throw new UsageError('--in-flight: at least 1')
    const policy: Policy = flags.balance ?? 'failover'
    const code = await runShip({
      destinations,
      policy,
      batchEvents: flags.batch,
      batchBytes: flags.batchBytes,
      linger: flags.linger,
      inFlight: flags.inFlight,
      maxPenalty: Math.max(flags.maxPenalty, 1),
      connectTimeout: flags.connectTimeout,
      ackTimeout: flags.ackTimeout,
      gzip: flags.compress === 'gzip',
      tls: {
        ca: flags.tlsCa ? readSecretFile(flags.tlsCa, '--tls-ca') : undefined,
        cert: flags.tlsCert ? readSecretFile(flags.tlsCert, '--tls-cert') : undefined,
        key: flags.tlsKey ? readSecretFile(flags.tlsKey, '--tls-key') : undefined,
      },
      token: flags.tokenFile ? readToken(flags.tokenFile) : undefined,
      window: Math.max(flags.batchBytes * flags.inFlight * 2, 4 * 1024 * 1024),
      maxLine: flags.maxLine,
      truncate: flags.truncate,
      shutdownTimeout: flags.shutdownTimeout,
      metrics: flags.metrics,
    })
    process.exitCode = code
  })
}
