// TLS and SASL to Kafka (--kafka-* options of ship and collect) against the real test broker's
// SASL_SSL and SASL_PLAINTEXT listeners (scripts/servers/kafka.mjs: user "tsf" for PLAIN and
// SCRAM-SHA-256/512, a certificate for 127.0.0.1 signed by a CA it makes at start).
import t from 'tap'
import { writeFileSync } from 'node:fs'
import { kafkaSecured, uniqueName } from '../fixtures/servers.js'
import { lines, missing, run, tsf, until } from '../fixtures/tcp-helpers.js'
import { createTopic, readTopic, topicSize } from '../sinks/kafka/kafka.js'
import { cleanup, duplicates, rolledLines, stopCollector } from '../sources/kafka/procs.js'

t.setTimeout(240_000)

const stderrLines = (text: string): string[] => text.split('\n').filter((l) => l !== '')

t.test('ship and collect through SASL_SSL (SCRAM, TLS verified with --kafka-ca): every line exactly once', async (t) => {
  const k = kafkaSecured(t)
  if (!k) return
  const dir = t.testdir({ pw: `${k.password}\n` })
  const topic = uniqueName('sasl-ssl')
  await createTopic(k.plaintext, topic, 3)
  const n = 20_000
  const auth = (mechanism: string): string => `--kafka-ca ${k.ca} --kafka-sasl ${mechanism} --kafka-user ${k.user} --kafka-password-file pw`
  const ship = run(`seq 1 ${n} | ${tsf} ship kafka://${k.saslSsl}/${topic} ${auth('scram-sha-512')}`, dir)
  cleanup(t, ship)
  t.equal(await ship.exited, 0, ship.stderr())
  t.notMatch(ship.stderr(), /retrying|error/, 'no failure on the way')
  t.equal(await topicSize(k.plaintext, topic), n, 'the topic holds each line once (read over PLAINTEXT)')

  const col = run(
    `${tsf} collect --from kafka://${k.saslSsl}/${topic} --group ${uniqueName('g')} ${auth('scram-sha-256')} | ${tsf} roll out`,
    dir,
  )
  cleanup(t, col)
  await until(
    () => rolledLines(`${dir}/out`).length >= n,
    120_000,
    () => `${n} rolled lines (have ${rolledLines(`${dir}/out`).length}): ${col.stderr()}`,
  )
  await stopCollector(col)
  t.equal(await col.exited, 0, col.stderr())
  // roll writes the bodies
  const got = rolledLines(`${dir}/out`)
  t.equal(got.length, n, 'exact count')
  t.same(missing(got, n, ''), [], 'none missing')
  t.same(duplicates(got), [], 'none twice')
  t.match(col.stderr(), /all events acked downstream and their offsets committed/)
  t.notMatch(ship.stderr() + col.stderr(), k.password, 'the password is never shown')
})

t.test('PLAIN over SASL_SSL with the password from $TSF_KAFKA_PASSWORD; PLAIN over SASL_PLAINTEXT warns it is clear text', async (t) => {
  const k = kafkaSecured(t)
  if (!k) return
  const dir = t.testdir()
  const topic = uniqueName('sasl-plain')
  await createTopic(k.plaintext, topic)
  const env = `TSF_KAFKA_PASSWORD='${k.password}'`
  const overTls = run(
    `seq 1 100 | ${env} ${tsf} ship kafka://${k.saslSsl}/${topic} --kafka-ca ${k.ca} --kafka-sasl plain --kafka-user ${k.user}`,
    dir,
  )
  cleanup(t, overTls)
  t.equal(await overTls.exited, 0, overTls.stderr())
  t.notMatch(overTls.stderr(), /retrying|error|clear text/)
  const clear = run(`seq 101 200 | ${env} ${tsf} ship kafka://${k.saslPlaintext}/${topic} --kafka-sasl plain --kafka-user ${k.user}`, dir)
  cleanup(t, clear)
  t.equal(await clear.exited, 0, clear.stderr())
  t.equal(stderrLines(clear.stderr())[0], 'tsf ship: --kafka-sasl plain without --kafka-tls sends the password in clear text')
  t.notMatch(clear.stderr(), /retrying|error/)
  const records = await readTopic(k.plaintext, topic, 200)
  t.same(
    missing(
      records.map((r) => (JSON.parse(r.value.toString()) as { body: string }).body),
      200,
      '',
    ),
    [],
    'all 200 lines arrived',
  )
  t.equal(records.length, 200)
})

t.test('a wrong password: one line naming the refused login, exit 1, the password never shown', async (t) => {
  const k = kafkaSecured(t)
  if (!k) return
  const dir = t.testdir({ pw: 'not-the-password-x7\n' })
  const topic = uniqueName('sasl-bad')
  await createTopic(k.plaintext, topic)
  const ship = run(
    `seq 1 10 | ${tsf} ship kafka://${k.saslSsl}/${topic} --kafka-ca ${k.ca} --kafka-sasl scram-sha-256 --kafka-user ${k.user} --kafka-password-file pw`,
    dir,
  )
  cleanup(t, ship)
  t.equal(await ship.exited, 1, ship.stderr())
  const said = stderrLines(ship.stderr())
  t.equal(said.length, 1, `one line: ${ship.stderr()}`)
  t.match(
    said[0],
    /^tsf ship: error: kafka:\/\/127\.0\.0\.1:\d+\/sasl-bad\S*: SASL SCRAM SHA256 authentication failed: .*invalid credentials.*; 10 events stay unacked upstream$/,
  )
  t.notMatch(ship.stderr(), 'not-the-password-x7')

  const col = run(
    `exec ${tsf} collect --from kafka://${k.saslSsl}/${topic} --group ${uniqueName('g')} --kafka-ca ${k.ca} --kafka-sasl plain --kafka-user ${k.user} --kafka-password-file pw > out.ndjson`,
    dir,
  )
  cleanup(t, col)
  t.equal(await col.exited, 1, col.stderr())
  t.same(stderrLines(col.stderr()).length, 1, `one line: ${col.stderr()}`)
  t.match(
    col.stderr(),
    /^tsf collect: error: kafka:\/\/127\.0\.0\.1:\d+\/sasl-bad\S*: SASL PLAIN authentication failed: .*Invalid username or password\n$/,
  )
  t.notMatch(col.stderr(), 'not-the-password-x7')
  t.same(lines(`${dir}/out.ndjson`), [], 'nothing consumed')
})

t.test('TLS to a broker whose CA is not trusted: one line naming the certificate problem, retried, nothing dropped', async (t) => {
  const k = kafkaSecured(t)
  if (!k) return
  const dir = t.testdir({ pw: `${k.password}\n` })
  const topic = uniqueName('tls-ca')
  await createTopic(k.plaintext, topic)
  // --kafka-tls alone verifies with the system CAs, which do not know the test CA
  const auth = `--kafka-tls --kafka-sasl scram-sha-512 --kafka-user ${k.user} --kafka-password-file pw`
  const ship = run(`seq 1 10 | ${tsf} ship kafka://${k.saslSsl}/${topic} ${auth} --shutdown-timeout 2s`, dir)
  cleanup(t, ship)
  t.equal(await ship.exited, 1, ship.stderr())
  const tlsLine =
    /^tsf ship: kafka:\/\/\S+: TLS: self[- ]signed certificate in certificate chain \(127\.0\.0\.1:\d+; --kafka-ca must name the CA that signed the brokers' certificates\); retrying, nothing is dropped$/
  const said = stderrLines(ship.stderr())
  t.equal(said.filter((l) => tlsLine.test(l)).length, 1, `said once: ${ship.stderr()}`)
  t.match(said.at(-1), /error: delivery failed: 10 events unacked after 2000 ms .*TLS: self[- ]signed certificate/)
  t.notMatch(ship.stderr(), /at .*\.js:\d+/, 'no stack trace')
  t.equal(await topicSize(k.plaintext, topic), 0, 'nothing was sent')

  const col = run(`exec ${tsf} collect --from kafka://${k.saslSsl}/${topic} --group ${uniqueName('g')} ${auth} > out.ndjson`, dir)
  cleanup(t, col)
  await until(
    () => /TLS: self[- ]signed certificate/.test(col.stderr()),
    60_000,
    () => `the TLS line: ${col.stderr()}`,
  )
  col.kill('SIGTERM')
  t.equal(await col.exited, 0, col.stderr())
  t.match(
    col.stderr(),
    /\(group \S+\): TLS: self[- ]signed certificate in certificate chain \(127\.0\.0\.1:\d+; --kafka-ca must name the CA that signed the brokers' certificates\); retrying, nothing is lost/,
  )
  t.equal(col.stderr().match(/TLS:/g)?.length, 1, 'said once')
  t.match(col.stderr(), /nothing was consumed/)
})

t.test('--kafka-tls on a PLAINTEXT listener says it may not be a TLS listener', async (t) => {
  const k = kafkaSecured(t)
  if (!k) return
  const dir = t.testdir()
  const ship = run(`seq 1 3 | ${tsf} ship kafka://${k.plaintext}/${uniqueName('not-tls')} --kafka-tls --shutdown-timeout 1s`, dir)
  cleanup(t, ship)
  t.equal(await ship.exited, 1, ship.stderr())
  t.match(
    ship.stderr(),
    /TLS: the broker closed the connection during the TLS handshake \(127\.0\.0\.1:\d+; is this a TLS listener\?\); retrying, nothing is dropped/,
  )
})

t.test('option mistakes are one line and exit 2 (or 1 for a file that cannot be read), before any connect', async (t) => {
  const dir = t.testdir({ empty: '' })
  writeFileSync(`${dir}/pw`, 'secret\n')
  const cases: [string, number, RegExp][] = [
    [`${tsf} ship kafka://127.0.0.1:1/t --kafka-sasl plain --kafka-password-file pw`, 2, /--kafka-sasl needs --kafka-user NAME/],
    [
      `${tsf} ship kafka://127.0.0.1:1/t --kafka-sasl scram-sha-256 --kafka-user u`,
      2,
      /--kafka-sasl needs a password: --kafka-password-file FILE or \$TSF_KAFKA_PASSWORD/,
    ],
    [
      `${tsf} ship kafka://127.0.0.1:1/t --kafka-sasl plain --kafka-user u --kafka-password-file empty`,
      2,
      /--kafka-password-file: empty is empty/,
    ],
    [
      `${tsf} ship kafka://127.0.0.1:1/t --kafka-sasl plain --kafka-user u --kafka-password-file nope`,
      1,
      /--kafka-password-file: nope: no such file or directory/,
    ],
    [`${tsf} ship kafka://127.0.0.1:1/t --kafka-sasl gssapi --kafka-user u`, 2, /--kafka-sasl/],
    [`${tsf} ship kafka://127.0.0.1:1/t --kafka-user u`, 2, /--kafka-user goes with --kafka-sasl MECHANISM/],
    [`${tsf} ship kafka://127.0.0.1:1/t --kafka-cert pw`, 2, /--kafka-cert and --kafka-key go together/],
    [
      `${tsf} ship kafka://127.0.0.1:1/t --tls-ca pw`,
      2,
      /--tls-ca does not apply to kafka:\/\/ destinations \(TLS to Kafka: --kafka-tls, --kafka-ca\)/,
    ],
    [`${tsf} ship 127.0.0.1:1 --kafka-tls`, 2, /--kafka-tls goes with kafka:\/\/ destinations/],
    [`${tsf} collect --listen 127.0.0.1:0 --kafka-sasl plain`, 2, /--kafka-sasl goes with --from kafka:\/\//],
    [`${tsf} collect --from kafka://127.0.0.1:1/t --group g --kafka-ca nope`, 1, /--kafka-ca: nope: no such file or directory/],
  ]
  for (const [cmd, code, message] of cases) {
    const p = run(`exec ${cmd} < /dev/null`, dir)
    cleanup(t, p)
    t.equal(await p.exited, code, `${cmd}: ${p.stderr()}`)
    t.equal(stderrLines(p.stderr()).length, 1, `one line: ${p.stderr()}`)
    t.match(p.stderr(), message, cmd)
    t.notMatch(p.stderr(), 'secret')
  }
})
