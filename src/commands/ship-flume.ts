import type { Command } from '../core/commander.js'
import { UsageError } from '../core/errors.js'
import { runCommand } from '../core/runtime.js'
import { isFlumeUrl, parseFlumeDestinations } from '../sinks/flume-avro/destination.js'
import type { FlumeShipConfig } from '../sinks/flume-avro/ship.js'
import { refuseGiven } from './common.js'
import { refuseBothPolicies, refuseHalfCertificate, senderOptions, type ShipFlags } from './ship-flags.js'

// ship's flume+avro:// destination: its option, and the wiring to src/sinks/flume-avro/ship.ts.

export { isFlumeUrl }

export const addFlumeOptions = (cmd: Command): Command =>
  cmd.option('--flume-ssl', 'flume+avro://: TLS (ssl = true on the Flume source), verified with --tls-ca or the system CAs')

// the Flume options given to another kind of destination
export const refuseFlumeOptions = (flags: Pick<ShipFlags, 'flumeSsl' | 'compress'>): void => {
  if (flags.flumeSsl || flags.compress === 'deflate')
    throw new UsageError('--flume-ssl and --compress deflate apply to flume+avro:// destinations only')
}

// flume+avro://host:port[,...]: Flume avro sources, with the TCP destinations' failover and balance.
// One call in flight per source unless told otherwise: Flume's source may commit pipelined calls
// out of order.
export const shipToFlume = (dests: string[], flags: ShipFlags, cmd: Command): Promise<number> => {
  refuseGiven(cmd, ['tokenFile', 'keyHeader', 'topicHeader'], 'does not apply to flume+avro:// destinations')
  if (flags.compress === 'gzip' || flags.compress === 'snappy')
    throw new UsageError(`--compress ${flags.compress} does not apply to flume+avro:// destinations`)
  refuseBothPolicies(flags)
  refuseHalfCertificate(flags)
  const inFlight = cmd.getOptionValueSource('inFlight') === 'default' ? 1 : flags.inFlight
  // Flume's avro sink sends batch-size 100 by default; bigger batches are fine for its source
  const batch = cmd.getOptionValueSource('batch') === 'default' ? 1000 : flags.batch
  const config: FlumeShipConfig = {
    destinations: parseFlumeDestinations(dests, Boolean(flags.flumeSsl)),
    policy: flags.balance ?? 'failover',
    batchEvents: batch,
    batchBytes: flags.batchBytes,
    linger: flags.linger,
    inFlight,
    ...senderOptions(flags),
    flume: { deflate: flags.compress === 'deflate' },
    window: Math.max(flags.batchBytes * inFlight * 2, 4 * 1024 * 1024),
  }
  return runCommand({ component: 'ship', shutdownTimeout: flags.shutdownTimeout, metrics: flags.metrics }, async (rt) =>
    (await import('../sinks/flume-avro/ship.js')).runFlumeShip(config, rt),
  )
}
