import { Option, type Command } from '../core/commander.js'
import { UsageError } from '../core/errors.js'
import { warn } from '../core/log.js'
import { readSecretFile } from '../core/wire/secrets.js'
import { SASL_MECHANISMS, type KafkaSecurity, type SaslMechanism } from '../kafka/security.js'
import { choice } from './common.js'

// The --kafka-* options of `ship kafka://` and `collect --from kafka://`: TLS and SASL to the
// brokers, named after Kafka's own settings (security.protocol, ssl.ca.location,
// sasl.mechanism, sasl.username) as kcat -X and Vector spell them. The password comes from a file
// or the environment only, never from the command line (ps shows it to every user).

export const PASSWORD_ENV = 'TSF_KAFKA_PASSWORD'

export interface KafkaSecurityFlags {
  kafkaTls?: boolean
  kafkaCa?: string
  kafkaCert?: string
  kafkaKey?: string
  kafkaSasl?: SaslMechanism
  kafkaUser?: string
  kafkaPasswordFile?: string
}

const NAMES = ['kafkaTls', 'kafkaCa', 'kafkaCert', 'kafkaKey', 'kafkaSasl', 'kafkaUser', 'kafkaPasswordFile'] as const

export const addKafkaSecurityOptions = (cmd: Command, prefix: string): Command =>
  cmd
    .option('--kafka-tls', `${prefix}TLS to the brokers (SSL or SASL_SSL listeners), verified with --kafka-ca or the system CAs`)
    .option('--kafka-ca <file>', `${prefix}CA certificates (PEM) that sign the brokers' certificates; implies --kafka-tls`)
    .option('--kafka-cert <file>', `${prefix}client certificate (PEM) for brokers with ssl.client.auth=required; implies --kafka-tls`)
    .option('--kafka-key <file>', `${prefix}private key (PEM) of --kafka-cert`)
    .addOption(
      new Option(
        '--kafka-sasl <mechanism>',
        `${prefix}SASL login: plain, scram-sha-256 or scram-sha-512 (with --kafka-user and --kafka-password-file or $${PASSWORD_ENV})`,
      ).argParser(choice('--kafka-sasl', SASL_MECHANISMS)),
    )
    .option('--kafka-user <name>', `${prefix}SASL user name`)
    .option('--kafka-password-file <file>', `${prefix}file holding the SASL password (its first line); default: $${PASSWORD_ENV}`)

const optionName = (name: string): string => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`

// Other destinations and sources refuse them.
export const refuseKafkaSecurityOptions = (flags: KafkaSecurityFlags, what: string): void => {
  for (const name of NAMES) {
    if (flags[name] !== undefined) throw new UsageError(`${optionName(name)} goes with ${what}`)
  }
}

const readPassword = (flags: KafkaSecurityFlags): string => {
  let text: string
  if (flags.kafkaPasswordFile !== undefined) {
    text = readSecretFile(flags.kafkaPasswordFile, '--kafka-password-file').toString('utf8')
    // the first line, as `echo secret > file` leaves it
    text = text.split(/\r?\n/, 1)[0]!
    if (!text) throw new UsageError(`--kafka-password-file: ${flags.kafkaPasswordFile} is empty`)
  } else {
    text = process.env[PASSWORD_ENV] ?? ''
    if (!text) throw new UsageError(`--kafka-sasl needs a password: --kafka-password-file FILE or $${PASSWORD_ENV}`)
  }
  return text
}

// The flags as a KafkaSecurity; reads the files now, so a missing one is said before any connect.
export const kafkaSecurity = (flags: KafkaSecurityFlags): KafkaSecurity | undefined => {
  const security: KafkaSecurity = {}
  if (Boolean(flags.kafkaCert) !== Boolean(flags.kafkaKey)) throw new UsageError('--kafka-cert and --kafka-key go together')
  if (flags.kafkaTls || flags.kafkaCa || flags.kafkaCert) {
    security.tls = {
      ca: flags.kafkaCa ? readSecretFile(flags.kafkaCa, '--kafka-ca') : undefined,
      cert: flags.kafkaCert ? readSecretFile(flags.kafkaCert, '--kafka-cert') : undefined,
      key: flags.kafkaKey ? readSecretFile(flags.kafkaKey, '--kafka-key') : undefined,
    }
  }
  if (flags.kafkaSasl) {
    if (!flags.kafkaUser) throw new UsageError('--kafka-sasl needs --kafka-user NAME')
    security.sasl = { mechanism: flags.kafkaSasl, username: flags.kafkaUser, password: readPassword(flags) }
    if (flags.kafkaSasl === 'plain' && !security.tls) warn('--kafka-sasl plain without --kafka-tls sends the password in clear text')
  } else if (flags.kafkaUser || flags.kafkaPasswordFile) {
    throw new UsageError(`${flags.kafkaUser ? '--kafka-user' : '--kafka-password-file'} goes with --kafka-sasl MECHANISM`)
  }
  return security.tls || security.sasl ? security : undefined
}
