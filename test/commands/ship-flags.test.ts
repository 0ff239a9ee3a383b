// tsf ship refuses, in one line and before connecting anywhere, the options that do not fit its
// destination: one set of checks (src/commands/ship-flags.ts, refuseGiven in common.ts) for
// collectors, kafka://, mongodb:// and flume+avro://. Nothing here listens: every run ends at once.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { root } from '../fixtures/tcp-helpers.js'

const ship = (...args: string[]): { code: number | null; stderr: string } => {
  const r = spawnSync('node', [join(root, 'bin/tsf.js'), 'ship', ...args], { input: '', encoding: 'utf8', timeout: 60_000 })
  return { code: r.status, stderr: r.stderr.trim() }
}

const refuses = (t: Tap.Test, args: string[], message: string): void => {
  const r = ship(...args)
  t.equal(r.code, 2, `${args.join(' ')}: exit 2`)
  t.equal(r.stderr, `tsf ship: error: ${message}`, `${args.join(' ')}: one line naming the option`)
}

t.test('collectors refuse the options of other destinations', async (t) => {
  const cases: [string[], string][] = [
    [['c1:4141', '--key-header', 'k'], '--key-header applies to kafka:// destinations only'],
    [['c1:4141', '--acks', '1'], '--acks applies to kafka:// destinations only'],
    [['c1:4141', '--value', 'body'], '--value applies to kafka:// destinations only'],
    [['c1:4141', '--op', 'upsert'], '--op applies to mongodb:// destinations only'],
    [['c1:4141', '--rejects', '/tmp/r'], '--rejects applies to mongodb:// destinations only'],
    [['c1:4141', '--failover', '--balance', 'random'], '--failover and --balance exclude each other'],
    [['c1:4141', '--tls-cert', '/nonexistent/c'], '--tls-cert and --tls-key go together'],
    [['c1:4141', '--batch', '0'], '--batch: at least 1'],
    [['c1:4141', '--in-flight', '0'], '--in-flight: at least 1'],
  ]
  for (const [args, message] of cases) refuses(t, args, message)
})

t.test('kafka:// refuses what only collectors understand', async (t) => {
  const cases: [string[], string][] = [
    [['kafka://127.0.0.1:1/t', '--failover'], '--failover does not apply to kafka:// destinations'],
    [
      ['kafka://127.0.0.1:1/t', '--tls-ca', '/nonexistent/ca'],
      '--tls-ca does not apply to kafka:// destinations (TLS to Kafka: --kafka-tls, --kafka-ca)',
    ],
    [['kafka://127.0.0.1:1/t', '--report-interval', '1s'], '--report-interval does not apply to kafka:// destinations'],
    [['kafka://127.0.0.1:1/t', '--best-effort'], '--best-effort does not apply to kafka:// destinations'],
    [['kafka://127.0.0.1:1/t', '--batch', '0'], '--batch: at least 1'],
  ]
  for (const [args, message] of cases) refuses(t, args, message)
})

t.test('mongodb:// refuses what only other destinations understand', async (t) => {
  const cases: [string[], string][] = [
    [['mongodb://127.0.0.1:1/d/c', '--balance', 'random'], '--balance does not apply to mongodb:// destinations'],
    [['mongodb://127.0.0.1:1/d/c', '--compress', 'gzip'], '--compress does not apply to mongodb:// destinations'],
    [['mongodb://127.0.0.1:1/d/c', '--topic-header', 'x'], '--topic-header does not apply to mongodb:// destinations'],
    [['mongodb://127.0.0.1:1/d/c', '--in-flight', '0'], '--in-flight: at least 1'],
    [['mongodb://127.0.0.1:1/d/c', '--tls-key', '/nonexistent/k'], '--tls-cert and --tls-key go together'],
    [
      ['mongodb://127.0.0.1:1/d/c', '-H', 'a=b'],
      '-H applies to tcp:// and tls:// destinations (put tsf filter -H before ship for headers)',
    ],
  ]
  for (const [args, message] of cases) refuses(t, args, message)
})

t.test('flume+avro:// refuses what only other destinations understand', async (t) => {
  const cases: [string[], string][] = [
    [['flume+avro://127.0.0.1:1', '--token-file', '/nonexistent/t'], '--token-file does not apply to flume+avro:// destinations'],
    [['flume+avro://127.0.0.1:1', '--key-header', 'k'], '--key-header does not apply to flume+avro:// destinations'],
    [['flume+avro://127.0.0.1:1', '--compress', 'snappy'], '--compress snappy does not apply to flume+avro:// destinations'],
    [['flume+avro://127.0.0.1:1', '--failover', '--balance', 'random'], '--failover and --balance exclude each other'],
    [['flume+avro://127.0.0.1:1', '--tls-cert', '/nonexistent/c'], '--tls-cert and --tls-key go together'],
    [['c1:4141', '--flume-ssl'], '--flume-ssl and --compress deflate apply to flume+avro:// destinations only'],
  ]
  for (const [args, message] of cases) refuses(t, args, message)
})

t.test('a TLS file that cannot be read is named', async (t) => {
  const r = ship('127.0.0.1:1', '--tls-ca', '/nonexistent/ca.pem')
  t.not(r.code, 0)
  t.match(r.stderr, /^tsf ship: (error: )?--tls-ca: .*\/nonexistent\/ca\.pem/)
  t.notMatch(r.stderr, /\n/, 'one line')
})
