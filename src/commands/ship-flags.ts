import { UsageError } from '../core/errors.js'
import { readSecretFile } from '../core/wire/secrets.js'
import type { Op } from '../sinks/mongodb/ops.js'
import type { ReaderOptions, RunnerOptions } from './common.js'
import type { KafkaSecurityFlags } from './kafka-options.js'

// tsf ship's flags, one definition for every destination (ship.ts, ship-mongodb.ts,
// ship-flume.ts), and the checks and readings more than one destination makes.

export interface ShipFlags extends ReaderOptions, RunnerOptions, KafkaSecurityFlags {
  failover?: boolean
  balance?: 'round-robin' | 'random'
  batch: number
  batchBytes: number
  linger: number
  inFlight: number
  maxPenalty: number
  connectTimeout: number
  ackTimeout: number
  compress?: 'gzip' | 'deflate' | 'snappy'
  flumeSsl?: boolean
  tlsCa?: string
  tlsCert?: string
  tlsKey?: string
  tokenFile?: string
  agent?: string
  acks: 'all' | '1' | '0'
  keyHeader?: string
  topicHeader?: string
  value: 'event' | 'body'
  reportInterval: number
  reportUpstream?: { host: string; port: number }[]
  header?: Record<string, string>
  bestEffort?: boolean
  // mongodb:// only (ship-mongodb.ts)
  timestampField?: string[]
  op?: Op
  rejects?: string
}

export const refuseBothPolicies = (flags: Pick<ShipFlags, 'failover' | 'balance'>): void => {
  if (flags.failover && flags.balance) throw new UsageError('--failover and --balance exclude each other')
}

export const refuseHalfCertificate = (flags: Pick<ShipFlags, 'tlsCert' | 'tlsKey'>): void => {
  if (Boolean(flags.tlsCert) !== Boolean(flags.tlsKey)) throw new UsageError('--tls-cert and --tls-key go together')
}

export const refuseEmptyBatches = (flags: Pick<ShipFlags, 'batch' | 'inFlight'>): void => {
  if (flags.batch < 1) throw new UsageError('--batch: at least 1')
  if (flags.inFlight < 1) throw new UsageError('--in-flight: at least 1')
}

// --tls-ca, --tls-cert and --tls-key, read now: a missing file is a usage error before anything runs.
export const readTlsFiles = (flags: Pick<ShipFlags, 'tlsCa' | 'tlsCert' | 'tlsKey'>): { ca?: Buffer; cert?: Buffer; key?: Buffer } => ({
  ca: flags.tlsCa ? readSecretFile(flags.tlsCa, '--tls-ca') : undefined,
  cert: flags.tlsCert ? readSecretFile(flags.tlsCert, '--tls-cert') : undefined,
  key: flags.tlsKey ? readSecretFile(flags.tlsKey, '--tls-key') : undefined,
})

// What the collectors' sender (tcp://, tls://) and flume+avro:// take alike from the flags.
export const senderOptions = (flags: ShipFlags) => ({
  maxPenalty: Math.max(flags.maxPenalty, 1),
  connectTimeout: flags.connectTimeout,
  ackTimeout: flags.ackTimeout,
  tls: readTlsFiles(flags),
  maxLine: flags.maxLine,
  truncate: flags.truncate,
  shutdownTimeout: flags.shutdownTimeout,
  metrics: flags.metrics,
  headers: flags.header,
  bestEffort: flags.bestEffort,
})
