import { Command, Option } from '../core/commander.js'
import { UsageError } from '../core/errors.js'
import { parseSyslogAddress, type SyslogAddress } from '../sources/tcp/syslog-address.js'
import { runCommand } from '../core/runtime.js'
import { parseKafkaUrl } from '../kafka/url.js'
import { addRunnerOptions, choice, collect, count, duration, header, hostPort, refuseGiven, size, type RunnerOptions } from './common.js'
import { addKafkaSecurityOptions, kafkaSecurity, refuseKafkaSecurityOptions, type KafkaSecurityFlags } from './kafka-options.js'
import { readAgentTokens, readSecretFile, readToken } from '../core/wire/secrets.js'
import type { CollectConfig } from '../sources/tcp/collect.js'

interface CollectFlags extends RunnerOptions, KafkaSecurityFlags {
  listen?: { host: string; port: number }[]
  syslog?: SyslogAddress[]
  flumeAvro?: { host: string; port: number }[]
  flumeCompression?: 'deflate' | 'none'
  flumeSsl?: boolean
  plain?: boolean
  print?: boolean
  tokenFile?: string
  agentTokens?: string
  tlsCert?: string
  tlsKey?: string
  tlsCa?: string
  compress: boolean
  maxEventSize: number
  maxBatchBytes: number
  maxConnections: number
  maxBuffer: number
  handshakeTimeout: number
  idleTimeout: number
  readTimeout: number
  from?: string
  group?: string
  fromBeginning?: boolean
  fromEnd?: boolean
  header?: Record<string, string>
}

// With no input option at all a collector listens on loopback only: it is reachable from the
// network only when told so.
const DEFAULT_LISTEN = { host: '127.0.0.1', port: 52020 }

export const makeCollectCommand = (): Command => {
  const cmd = new Command('collect')
    .description(
      'receive events from tsf ship (and, with --plain, nc or scripts) over TCP, or from a Kafka topic (--from); write them to stdout, acking senders (committing offsets) once stdout acked',
    )
    .addOption(
      new Option('--listen <host:port>', 'address to listen on, repeatable (default 127.0.0.1:52020)').argParser(
        collect(hostPort('--listen')),
      ),
    )
    .addOption(
      new Option(
        '--syslog <proto://host:port>',
        'take syslog (RFC 3164/5424) on tcp://HOST:PORT (newline or octet-counted framing) or udp://HOST:PORT, repeatable',
      ).argParser(collect(parseSyslogAddress)),
    )
    .addOption(
      new Option(
        '--flume-avro <host:port>',
        "take Flume avro sinks' appendBatch calls (Flume's avro source), answered OK once stdout acked, repeatable",
      ).argParser(collect(hostPort('--flume-avro'))),
    )
    .addOption(
      new Option('--flume-compression <type>', 'with --flume-avro: compression-type of the Flume sinks (deflate must be set on both ends)')
        .default('none')
        .argParser(choice('--flume-compression', ['none', 'deflate'])),
    )
    .option('--flume-ssl', 'with --flume-avro: serve TLS (ssl = true on the Flume sinks) with --tls-cert and --tls-key')
    .option('--plain', 'also accept bare NDJSON or text lines from nc or a script (best effort, no acks)')
    .option('--print', 'human-readable, coloured console output instead of NDJSON (for debugging)')
    .option('--token-file <file>', 'shared secret every sender must prove in its hello (without TLS it also authenticates every frame)')
    .option(
      '--agent-tokens <file|dir>',
      'one secret per agent ("NAME:SECRET" lines, or a directory of files named for the agents); each event\'s src is bound to the agent that sent it',
    )
    .option('--tls-cert <file>', 'serve TLS with this certificate')
    .option('--tls-key <file>', 'private key of --tls-cert')
    .option('--tls-ca <file>', 'require client certificates signed by these CAs')
    .option('--no-compress', 'refuse gzip-compressed batches (negotiated in the hello)')
    .addOption(
      new Option('--max-event-size <size>', 'longest event kept whole; longer ones are cut into pieces marked "cont"')
        .default(8 * 1024 * 1024, '8M')
        .argParser(size('--max-event-size')),
    )
    .addOption(
      new Option('--max-batch-bytes <size>', 'largest batch frame accepted (after gunzip); a larger one closes the connection')
        .default(64 * 1024 * 1024, '64M')
        .argParser(size('--max-batch-bytes')),
    )
    .addOption(
      new Option('--max-connections <n>', 'connections at once; more are refused').default(1024).argParser(count('--max-connections')),
    )
    .addOption(
      new Option('--max-buffer <size>', 'bytes all connections may hold at once (partial and queued batches); past it reads pause')
        .default(64 * 1024 * 1024, '64M')
        .argParser(size('--max-buffer')),
    )
    .addOption(
      new Option('--handshake-timeout <duration>', 'a connection must finish its hello within this of connecting')
        .default(10_000, '10s')
        .argParser(duration('--handshake-timeout')),
    )
    .addOption(
      new Option('--idle-timeout <duration>', 'close a connection silent for this long')
        .default(600_000, '10m')
        .argParser(duration('--idle-timeout')),
    )
    .addOption(
      new Option('--read-timeout <duration>', 'a hello, frame or line once started must arrive whole within this')
        .default(30_000, '30s')
        .argParser(duration('--read-timeout')),
    )
    .option('-H, --header <K=V>', 'a static header on every event received, kept when the event has one (repeatable)', header)
    .option('--from <url>', 'consume kafka://BROKER[,BROKER...]/TOPIC instead of listening (offsets committed only once acked downstream)')
    .option('--group <name>', 'with --from: the Kafka consumer group; members split the partitions')
    .option('--from-beginning', 'with --from: a group without committed offsets starts at the oldest record (the default)')
    .option('--from-end', 'with --from: a group without committed offsets starts with new records only')
  addKafkaSecurityOptions(cmd, 'with --from: ')
  addRunnerOptions(cmd)
  return cmd.action(async (flags: CollectFlags) => {
    if (flags.from !== undefined) {
      process.exitCode = await collectFromKafka(flags, cmd)
      return
    }
    if (flags.group || flags.fromBeginning || flags.fromEnd)
      throw new UsageError('--group, --from-beginning and --from-end go with --from kafka://...')
    refuseKafkaSecurityOptions(flags, '--from kafka://...')
    if (flags.plain && (flags.tokenFile || flags.agentTokens))
      throw new UsageError(
        `--plain and ${flags.tokenFile ? '--token-file' : '--agent-tokens'} exclude each other: plain senders cannot prove a token`,
      )
    if (flags.tokenFile && flags.agentTokens)
      throw new UsageError('--token-file and --agent-tokens exclude each other: give every agent its own secret in --agent-tokens')
    if (Boolean(flags.tlsCert) !== Boolean(flags.tlsKey)) throw new UsageError('--tls-cert and --tls-key go together')
    if (flags.flumeSsl && !flags.tlsCert) throw new UsageError('--flume-ssl needs --tls-cert and --tls-key')
    if ((flags.flumeSsl || cmd.getOptionValueSource('flumeCompression') !== 'default') && !flags.flumeAvro?.length)
      throw new UsageError('--flume-ssl and --flume-compression go with --flume-avro HOST:PORT')
    if (flags.tlsCa && !flags.tlsCert)
      throw new UsageError('--tls-ca needs --tls-cert and --tls-key (client certificates are checked over TLS)')
    const config: CollectConfig = {
      // no input option at all: the loopback default; --syslog or --flume-avro alone listen for those only
      listen: flags.listen?.length ? flags.listen : flags.syslog?.length || flags.flumeAvro?.length ? [] : [DEFAULT_LISTEN],
      syslog: flags.syslog ?? [],
      flumeAvro: {
        addresses: flags.flumeAvro ?? [],
        deflate: flags.flumeCompression === 'deflate',
        tls: flags.flumeSsl
          ? { cert: readSecretFile(flags.tlsCert!, '--tls-cert'), key: readSecretFile(flags.tlsKey!, '--tls-key') }
          : undefined,
      },
      plain: Boolean(flags.plain),
      print: Boolean(flags.print),
      token: flags.tokenFile ? readToken(flags.tokenFile) : undefined,
      agents: flags.agentTokens ? readAgentTokens(flags.agentTokens) : undefined,
      tls: flags.tlsCert
        ? {
            cert: readSecretFile(flags.tlsCert, '--tls-cert'),
            key: readSecretFile(flags.tlsKey!, '--tls-key'),
            ca: flags.tlsCa ? readSecretFile(flags.tlsCa, '--tls-ca') : undefined,
          }
        : undefined,
      gzip: flags.compress,
      maxEvent: Math.max(flags.maxEventSize, 16),
      maxBatchBytes: Math.max(flags.maxBatchBytes, 1024),
      maxConnections: Math.max(flags.maxConnections, 1),
      maxBuffer: flags.maxBuffer,
      handshakeTimeout: Math.max(flags.handshakeTimeout, 1),
      idleTimeout: flags.idleTimeout,
      readTimeout: flags.readTimeout,
      shutdownTimeout: flags.shutdownTimeout,
      metrics: flags.metrics,
      headers: flags.header,
    }
    process.exitCode = await runCommand(
      { component: 'collect', shutdownTimeout: flags.shutdownTimeout, metrics: flags.metrics },
      // the engine loads when it runs, not for --help
      async (rt) => (await import('../sources/tcp/collect.js')).runCollect(config, rt),
    )
  })
}

// --from kafka://brokers/topic --group G: a Kafka consumer group member (src/sources/kafka/collect.ts).
const collectFromKafka = (flags: CollectFlags, cmd: Command): Promise<number> => {
  const url = parseKafkaUrl(flags.from!, '--from')
  if (!flags.group) throw new UsageError('--from needs --group NAME (the Kafka consumer group)')
  if (flags.fromBeginning && flags.fromEnd) throw new UsageError('--from-beginning and --from-end exclude each other')
  refuseGiven(
    cmd,
    ['listen', 'syslog', 'flumeAvro', 'flumeSsl', 'plain', 'tokenFile', 'agentTokens', 'tlsCert', 'tlsKey', 'tlsCa', 'header'],
    'does not go with --from kafka://',
    (name) => (name.startsWith('tls') ? ` (TLS to Kafka: --kafka-tls, --kafka-${name.slice(3).toLowerCase()})` : ''),
  )
  const security = kafkaSecurity(flags)
  return runCommand({ component: 'collect', shutdownTimeout: flags.shutdownTimeout, metrics: flags.metrics }, async (rt) =>
    // kafkajs loads only when Kafka is used: every other command starts faster
    (await import('../sources/kafka/collect.js')).runKafkaCollect(
      {
        url,
        group: flags.group!,
        fromBeginning: !flags.fromEnd,
        print: Boolean(flags.print),
        connectTimeout: 5_000,
        requestTimeout: 30_000,
        sessionTimeout: 10_000,
        commitInterval: 200,
        maxBytesPerPartition: 1024 * 1024,
        shutdownTimeout: flags.shutdownTimeout,
        security,
      },
      rt,
    ),
  )
}
