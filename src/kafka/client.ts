// The one module that loads kafkajs (in maintenance mode: we may swap clients, so only src/kafka/
// imports it): kafkajs with tsf's patches and codecs, and a configured client. On it: the producer
// (producer.ts), the consumer group member (consumer.ts) and one-line errors (errors.ts).
import { createRequire } from 'node:module'
import type { LogEntry } from 'kafkajs'
// must run before kafkajs loads: it puts tsf's versions of some kafkajs modules in their place
import './kafkajs-patches.js'
import type { KafkaSecurity } from './security.js'
import { registerCodecs } from './codecs.js'

const require = createRequire(import.meta.url)
export const kafkajs = require('kafkajs') as typeof import('kafkajs')
const { Kafka, logLevel } = kafkajs

// gzip is kafkajs' own; snappy, lz4 (read only) and zstd (read only): src/kafka/codecs.ts
registerCodecs(kafkajs as unknown as Parameters<typeof registerCodecs>[0])

export interface ClientOptions {
  brokers: string[]
  clientId: string
  // connect (TCP + API versions) deadline per broker
  connectTimeout: number
  requestTimeout: number
  security?: KafkaSecurity
}

// kafkajs logs through console by default; we keep the tool's stderr for our own one-liners.
// TSF_KAFKA_DEBUG=1 shows kafkajs' own log for diagnosis.
const logCreator = () => (entry: LogEntry) => {
  if (!process.env.TSF_KAFKA_DEBUG) return
  process.stderr.write(
    `kafkajs ${entry.label} ${entry.namespace}: ${entry.log.message} ${JSON.stringify({ ...entry.log, message: undefined, timestamp: undefined, logger: undefined })}\n`,
  )
}

const tlsOptions = (tls: NonNullable<KafkaSecurity['tls']>) => ({
  ...(tls.ca ? { ca: [tls.ca] } : {}),
  ...(tls.cert ? { cert: tls.cert, key: tls.key } : {}),
  rejectUnauthorized: true,
})

export const newKafka = (options: ClientOptions, retries: number) =>
  new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    ssl: options.security?.tls ? tlsOptions(options.security.tls) : undefined,
    sasl: options.security?.sasl as import('kafkajs').SASLOptions | undefined,
    connectionTimeout: options.connectTimeout,
    requestTimeout: options.requestTimeout,
    // short retries inside kafkajs; the engines retry for ever around them and say so
    retry: { retries, initialRetryTime: 200, maxRetryTime: 2000 },
    logLevel: process.env.TSF_KAFKA_DEBUG ? logLevel.DEBUG : logLevel.ERROR,
    logCreator,
  })
