import { Command, Option } from '../core/commander.js'
import { UsageError } from '../core/errors.js'
import { runCommand } from '../core/runtime.js'
import { isKafkaUrl, parseKafkaUrl } from '../kafka/url.js'
import { agentNamePattern, readToken } from '../core/wire/secrets.js'
import { parseDestinations } from '../sinks/tcp/destination.js'
import type { ShipConfig } from '../sinks/tcp/ship.js'
import type { Policy } from '../sinks/tcp/targets.js'
import { addMongoOptions, isMongoUrl, refuseMongoOptions, shipToMongo } from './ship-mongodb.js'
import { addFlumeOptions, isFlumeUrl, refuseFlumeOptions, shipToFlume } from './ship-flume.js'
import { addKafkaSecurityOptions, kafkaSecurity, refuseKafkaSecurityOptions } from './kafka-options.js'
import { addReaderOptions, addRunnerOptions, choice, collect, count, duration, header, hostPort, refuseGiven, size } from './common.js'
import { refuseBothPolicies, refuseEmptyBatches, refuseHalfCertificate, senderOptions, type ShipFlags } from './ship-flags.js'

export type { ShipFlags }

export const makeShipCommand = (): Command => {
  const cmd = new Command('ship')
    .description('send events from stdin to tsf collectors over TCP, acked end to end, with failover or load balancing')
    .argument(
      '<dest...>',
      'host:port, tcp://host:port or tls://host:port; several, comma-separated or repeated, in priority order; or one kafka://BROKER[,BROKER...]/TOPIC, or one mongodb://HOST[,HOST...]/DATABASE/COLLECTION; or Flume avro sources, flume+avro://HOST:PORT[,HOST:PORT...]',
    )
    .option('--failover', 'send to the first live destination in the order given (the default with several)')
    .addOption(
      new Option('--balance <how>', 'spread batches over live destinations').argParser(choice('--balance', ['round-robin', 'random'])),
    )
    .addOption(new Option('--batch <events>', 'most events in one batch').default(2000).argParser(count('--batch')))
    .addOption(new Option('--batch-bytes <size>', 'most bytes in one batch').default(1024 * 1024, '1M').argParser(size('--batch-bytes')))
    .addOption(
      new Option('--linger <duration>', 'with batches in flight, how long a partial batch may wait to fill')
        .default(0, '0ms')
        .argParser(duration('--linger')),
    )
    .addOption(
      new Option('--in-flight <batches>', 'batches in flight per destination before waiting for acks')
        .default(4)
        .argParser(count('--in-flight')),
    )
    .addOption(
      new Option('--max-penalty <duration>', 'longest back-off of a failed destination')
        .default(30_000, '30s')
        .argParser(duration('--max-penalty')),
    )
    .addOption(
      new Option('--connect-timeout <duration>', 'connect and handshake deadline')
        .default(5_000, '5s')
        .argParser(duration('--connect-timeout')),
    )
    .addOption(
      new Option(
        '--ack-timeout <duration>',
        'a collector that has not acked a batch within this is dropped and the batch re-sent (elsewhere if possible)',
      )
        .default(30_000, '30s')
        .argParser(duration('--ack-timeout')),
    )
    .addOption(
      new Option(
        '--compress <how>',
        'compress batches when the collector agrees (gzip); flume+avro://: deflate, as compression-type = deflate on the Flume source; kafka://: gzip or snappy (record batches)',
      ).argParser(choice('--compress', ['gzip', 'deflate', 'snappy'])),
    )
    .option('--tls-ca <file>', 'CA certificates to verify tls:// collectors (default: the system ones)')
    .option('--tls-cert <file>', 'client certificate for collectors that require one')
    .option('--tls-key <file>', 'private key of --tls-cert')
    .option(
      '--token-file <file>',
      'secret proven to collectors by challenge-response (never sent); without TLS it also authenticates every frame',
    )
    .option('--agent <name>', 'with --token-file: the agent name the secret belongs to, for collectors with --agent-tokens')
    .addOption(
      new Option(
        '--acks <acks>',
        'kafka://: acks Kafka must give before an event counts as delivered (all: idempotent, every in-sync replica)',
      )
        .default('all')
        .argParser(choice('--acks', ['all', '1', '0'])),
    )
    .option(
      '--key-header <name>',
      "kafka://: the record key is this header's value (default: the event's src, keeping a stream in one partition)",
    )
    .option('--topic-header <name>', 'kafka://: send an event to the topic named by this header, when it has one')
    .addOption(
      new Option('--report-interval <duration>', 'how often ship tells its collectors how it is doing (for tsf top; 0: never)')
        .default(5000, '5s')
        .argParser(duration('--report-interval')),
    )
    .addOption(
      new Option(
        '--report-upstream <host:port>',
        'the --metrics address of a stage before ship (tail, channel) whose lag and backlog go into the reports (repeatable)',
      ).argParser(collect(hostPort('--report-upstream'))),
    )
    .option('-H, --header <K=V>', 'a static header on every event sent, kept when the event has one (repeatable)', header)
    .option(
      '--best-effort',
      "never make the source wait: ack every event upstream at once and drop (count, report) what the collectors cannot take while they are down (Flume OG's agentBESink)",
    )
    .addOption(
      new Option('--value <what>', 'kafka://: the record value, the event line or its body')
        .default('event')
        .argParser(choice('--value', ['event', 'body'])),
    )
  addKafkaSecurityOptions(cmd, 'kafka://: ')
  addMongoOptions(cmd)
  addFlumeOptions(cmd)
  addReaderOptions(cmd)
  addRunnerOptions(cmd)
  return cmd.action(async (dests: string[], flags: ShipFlags) => {
    if (!dests.some(isKafkaUrl)) refuseKafkaSecurityOptions(flags, 'kafka:// destinations')
    if (dests.some(isMongoUrl)) {
      if (flags.header || flags.bestEffort)
        throw new UsageError(
          `${flags.header ? '-H' : '--best-effort'} applies to tcp:// and tls:// destinations (put tsf filter -H before ship for headers)`,
        )
      process.exitCode = await shipToMongo(dests, flags, cmd)
      return
    }
    refuseMongoOptions(cmd)
    if (dests.some(isFlumeUrl)) {
      process.exitCode = await shipToFlume(dests, flags, cmd)
      return
    }
    refuseFlumeOptions(flags)
    if (dests.some(isKafkaUrl)) {
      process.exitCode = await shipToKafka(dests, flags, cmd)
      return
    }
    refuseGiven(cmd, ['keyHeader', 'topicHeader', 'acks', 'value'], 'applies to kafka:// destinations only')
    if (flags.compress === 'snappy')
      throw new UsageError('--compress snappy applies to kafka:// destinations only (tsf collect takes gzip)')
    const destinations = parseDestinations(dests)
    refuseBothPolicies(flags)
    refuseHalfCertificate(flags)
    if (flags.agent !== undefined && !flags.tokenFile) throw new UsageError("--agent goes with --token-file (the agent's own secret)")
    if (flags.agent !== undefined && !agentNamePattern.test(flags.agent))
      throw new UsageError(`--agent: '${flags.agent.slice(0, 80)}' must be 1-64 of A-Z a-z 0-9 . _ -`)
    refuseEmptyBatches(flags)
    const policy: Policy = flags.balance ?? 'failover'
    const config: ShipConfig = {
      destinations,
      policy,
      batchEvents: flags.batch,
      batchBytes: flags.batchBytes,
      linger: flags.linger,
      inFlight: flags.inFlight,
      ...senderOptions(flags),
      gzip: flags.compress === 'gzip',
      token: flags.tokenFile ? readToken(flags.tokenFile) : undefined,
      agent: flags.agent,
      window: Math.max(flags.batchBytes * flags.inFlight * 2, 4 * 1024 * 1024),
      report: { interval: flags.reportInterval, upstream: flags.reportUpstream ?? [] },
    }
    // the engine loads when it runs: `tsf ship --help` and a usage error need only the options
    process.exitCode = await runCommand({ component: 'ship', shutdownTimeout: flags.shutdownTimeout, metrics: flags.metrics }, async (rt) =>
      (await import('../sinks/tcp/ship.js')).runShip(config, rt),
    )
  })
}

// kafka://broker[,broker...]/topic: the Kafka producer (src/sinks/kafka/ship.ts).
const shipToKafka = (dests: string[], flags: ShipFlags, cmd: Command): Promise<number> => {
  if (dests.length !== 1) throw new UsageError('a kafka:// destination goes alone: tsf ship kafka://BROKER[,BROKER...]/TOPIC')
  const url = parseKafkaUrl(dests[0]!, 'destination')
  refuseGiven(
    cmd,
    ['failover', 'balance', 'tlsCa', 'tlsCert', 'tlsKey', 'tokenFile', 'agent', 'reportInterval', 'reportUpstream', 'header', 'bestEffort'],
    'does not apply to kafka:// destinations',
    (name) => (name.startsWith('tls') ? ` (TLS to Kafka: --kafka-tls, --kafka-${name.slice(3).toLowerCase()})` : ''),
  )
  const security = kafkaSecurity(flags)
  if (flags.batch < 1) throw new UsageError('--batch: at least 1')
  // Kafka takes bigger sends than a collector; a partition's batch must stay under the broker's
  // message.max.bytes (1M by default)
  const batchEvents = cmd.getOptionValueSource('batch') === 'default' ? 10_000 : flags.batch
  const batchBytes = cmd.getOptionValueSource('batchBytes') === 'default' ? 900 * 1024 : flags.batchBytes
  // a piece of a cut line must fit in one record, escapes and envelope included
  const maxLine = cmd.getOptionValueSource('maxLine') === 'default' ? 512 * 1024 : flags.maxLine
  return runCommand({ component: 'ship', shutdownTimeout: flags.shutdownTimeout, metrics: flags.metrics }, async (rt) =>
    // kafkajs loads only when Kafka is used: every other command starts faster
    (await import('../sinks/kafka/ship.js')).runKafkaShip(
      {
        url,
        rules: { keyHeader: flags.keyHeader, topicHeader: flags.topicHeader, value: flags.value },
        acks: flags.acks,
        // deflate was refused before (refuseFlumeOptions)
        compression: flags.compress === 'gzip' || flags.compress === 'snappy' ? flags.compress : 'none',
        inFlight: flags.inFlight,
        security,
        batchEvents,
        batchBytes,
        linger: flags.linger,
        connectTimeout: flags.connectTimeout,
        requestTimeout: flags.ackTimeout,
        maxBackoff: Math.max(flags.maxPenalty, 100),
        window: Math.max(batchBytes * 4, 16 * 1024 * 1024),
        maxLine,
        truncate: flags.truncate,
        shutdownTimeout: flags.shutdownTimeout,
      },
      rt,
    ),
  )
}
