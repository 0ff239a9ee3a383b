// Kafka 3.9.1, single-node KRaft (broker + controller in one JVM), for tsf's tests.
// Contract (see scripts/servers.mjs): fetch(), start() -> { env }, stop(), status().
// Jars come from Maven Central (test-servers/kafka/pom.xml -> test-servers/kafka/lib);
// runtime files (data, log, pid, generated properties, TLS files) live in test-servers/kafka/run/.
// Listeners: PLAINTEXT (most tests), SASL_SSL and SASL_PLAINTEXT (user "tsf", PLAIN and
// SCRAM-SHA-256/512; a certificate for 127.0.0.1 signed by a CA made with openssl at each start).
// TSF_TEST_KAFKA_PORT moves all four ports (PORT, controller PORT+1, SASL_SSL PORT+2,
// SASL_PLAINTEXT PORT+3), for a second broker next to a running one.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fetchJars, jarsFetched } from './_maven.mjs'
import {
  cmdlineHas,
  JAVA,
  portFree,
  READY_TIMEOUT_MS,
  readPid as readPidFile,
  serverDirs,
  sleep,
  spawnDetached,
  stopGroup,
} from './_process.mjs'

const { DIR, LIB, RUN } = serverDirs('kafka')
const DATA = path.join(RUN, 'data')
const LOG = path.join(RUN, 'kafka.log')
const PIDFILE = path.join(RUN, 'kafka.pid')
const PROPS = path.join(RUN, 'server.properties')
const TLS = path.join(RUN, 'tls')

const HOST = '127.0.0.1'
const PORT = Number(process.env.TSF_TEST_KAFKA_PORT || 19092)
const CONTROLLER_PORT = PORT + 1
const SASL_SSL_PORT = PORT + 2
const SASL_PLAINTEXT_PORT = PORT + 3
// The test user (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512) and keystore password: test values only.
const USER = 'tsf'
const PASSWORD = 'tsf-test-password'
const KEYSTORE_PASSWORD = 'tsf-test-keystore'
// Fixed cluster id (22 chars of base64url), so no extra JVM run is needed to make one.
const CLUSTER_ID = 'dHNmLXRlc3Qta2Fma2EtMQ'

export const env = {
  TSF_TEST_KAFKA: `${HOST}:${PORT}`,
  TSF_TEST_KAFKA_SASL_SSL: `${HOST}:${SASL_SSL_PORT}`,
  TSF_TEST_KAFKA_SASL_PLAINTEXT: `${HOST}:${SASL_PLAINTEXT_PORT}`,
  TSF_TEST_KAFKA_CA: path.join(TLS, 'ca.pem'),
  TSF_TEST_KAFKA_USER: USER,
  TSF_TEST_KAFKA_PASSWORD: PASSWORD,
}

const JAVA_OPTS = [
  '-Xms128m',
  '-Xmx512m',
  // Functional tests only: faster JVM boot, no benchmarks against this broker.
  '-XX:TieredStopAtLevel=1',
  '-XX:+UseSerialGC',
  '-XX:-UsePerfData',
  '-Djava.awt.headless=true',
  '-Djava.net.preferIPv4Stack=true',
  `-Dlog4j.configuration=file:${path.join(DIR, 'log4j.properties')}`,
  `-Dkafka.logs.dir=${path.join(RUN, 'logs')}`,
]

/** Download the jars with Maven, unless lib/ already holds what pom.xml asks for. */
export async function fetch() {
  fetchJars('kafka', DIR, LIB, (lib) =>
    fs.existsSync(lib) && fs.readdirSync(lib).some((f) => /^kafka_2\.13-.*\.jar$/.test(f)) ? undefined : 'kafka_2.13 jar',
  )
}

const readPid = () => readPidFile(PIDFILE)

/** True when pid is alive and is our Kafka JVM (guards against pid reuse). */
const isOurs = (pid) => cmdlineHas(pid, 'kafka.Kafka', PROPS)

function logTail(n = 40) {
  try {
    const text = fs.readFileSync(LOG, 'utf8').trimEnd()
    return text ? text.split('\n').slice(-n).join('\n') : '(the log is empty: the broker logs only warnings before it is up)'
  } catch {
    return '(no log)'
  }
}

/** Makes a CA and a certificate for 127.0.0.1 it signed, and the broker's PKCS12 keystore. */
function makeTls() {
  fs.rmSync(TLS, { recursive: true, force: true })
  fs.mkdirSync(TLS, { recursive: true })
  const f = (name) => path.join(TLS, name)
  fs.writeFileSync(f('broker.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n')
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  for (const args of [
    [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      f('ca.key'),
      '-out',
      f('ca.pem'),
      '-days',
      '3650',
      '-subj',
      '/CN=tsf test Kafka CA',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ],
    ['req', ...ec, '-keyout', f('broker.key'), '-out', f('broker.csr'), '-subj', '/CN=127.0.0.1'],
    [
      'x509',
      '-req',
      '-in',
      f('broker.csr'),
      '-CA',
      f('ca.pem'),
      '-CAkey',
      f('ca.key'),
      '-CAcreateserial',
      '-out',
      f('broker.pem'),
      '-days',
      '3650',
      '-extfile',
      f('broker.ext'),
    ],
    [
      'pkcs12',
      '-export',
      '-in',
      f('broker.pem'),
      '-inkey',
      f('broker.key'),
      '-certfile',
      f('ca.pem'),
      '-out',
      f('broker.p12'),
      '-passout',
      `pass:${KEYSTORE_PASSWORD}`,
    ],
  ]) {
    const r = spawnSync('openssl', args, { encoding: 'utf8' })
    if (r.error || r.status !== 0)
      throw new Error(`kafka: openssl ${args[0]} failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr}`)
  }
}

/** server.properties with this run's ports and absolute paths. */
function properties() {
  const base = fs.readFileSync(path.join(DIR, 'server.properties'), 'utf8')
  return base
    .replace(/\b1909([2-5])\b/g, (_, d) => String(PORT + Number(d) - 2))
    .replace(/^log\.dirs=.*$/m, `log.dirs=${DATA}`)
    .replace(/^ssl\.keystore\.location=.*$/m, `ssl.keystore.location=${path.join(TLS, 'broker.p12')}`)
}

async function describeCluster(brokers = env.TSF_TEST_KAFKA, security = {}) {
  const { Kafka, logLevel } = await import('kafkajs')
  const kafka = new Kafka({
    clientId: 'tsf-servers',
    brokers: [brokers],
    logLevel: logLevel.NOTHING,
    retry: { retries: 0 },
    connectionTimeout: 2000,
    requestTimeout: 5000,
    ...security,
  })
  const admin = kafka.admin()
  try {
    await admin.connect()
    const c = await admin.describeCluster()
    if (c.brokers.length === 0) return false
    if (security.sasl) return true
    // Warm up: finding a group coordinator creates __consumer_offsets now, so the first consumer
    // in a test does not log "The group coordinator is not available" while it is being created.
    await admin.describeGroups(['tsf-warmup'])
    return true
  } finally {
    await admin.disconnect().catch(() => {})
  }
}

// The SASL_SSL listener answers a SCRAM login over TLS verified with the generated CA.
const saslReady = () =>
  describeCluster(env.TSF_TEST_KAFKA_SASL_SSL, {
    ssl: { ca: [fs.readFileSync(env.TSF_TEST_KAFKA_CA)] },
    sasl: { mechanism: 'scram-sha-512', username: USER, password: PASSWORD },
  }).catch(() => false)

/** Start the broker (detached, survives the calling process) and resolve once it serves requests. */
export async function start() {
  await fetch()
  const old = readPid()
  if (old && isOurs(old)) throw new Error(`kafka: already running (pid ${old}); run: node scripts/servers.mjs stop kafka`)
  for (const p of [PORT, CONTROLLER_PORT, SASL_SSL_PORT, SASL_PLAINTEXT_PORT]) {
    if (!(await portFree(HOST, p))) throw new Error(`kafka: port ${HOST}:${p} is already in use by another process`)
  }
  fs.rmSync(DATA, { recursive: true, force: true })
  fs.rmSync(path.join(RUN, 'logs'), { recursive: true, force: true })
  fs.mkdirSync(DATA, { recursive: true })
  fs.mkdirSync(path.join(RUN, 'logs'), { recursive: true })
  makeTls()
  fs.writeFileSync(PROPS, properties())

  const t0 = Date.now()
  const cp = path.join(LIB, '*')
  const fmt = spawnSync(
    JAVA,
    [
      ...JAVA_OPTS,
      '-cp',
      cp,
      'kafka.tools.StorageTool',
      'format',
      '-t',
      CLUSTER_ID,
      '-c',
      PROPS,
      '--ignore-formatted',
      // SCRAM credentials live in the cluster metadata: written at format time (KIP-900)
      '--add-scram',
      `SCRAM-SHA-256=[name=${USER},password=${PASSWORD}]`,
      '--add-scram',
      `SCRAM-SHA-512=[name=${USER},password=${PASSWORD}]`,
    ],
    { encoding: 'utf8' },
  )
  if (fmt.error || fmt.status !== 0) {
    throw new Error(`kafka: storage format failed (exit ${fmt.status}): ${fmt.error?.message ?? ''}\n${fmt.stdout}${fmt.stderr}`)
  }

  const child = spawnDetached(JAVA, [...JAVA_OPTS, '-cp', cp, 'kafka.Kafka', PROPS], { cwd: RUN, log: LOG, pidFile: PIDFILE })

  const deadline = t0 + READY_TIMEOUT_MS
  let sawStarted = false
  while (Date.now() < deadline) {
    if (child.exited !== null) {
      throw new Error(`kafka: JVM exited (${child.exited}) before it was ready; last lines of ${LOG}:\n${logTail()}`)
    }
    if (!sawStarted) {
      try {
        sawStarted = fs.readFileSync(LOG, 'utf8').includes('Kafka Server started')
      } catch {
        /* not yet */
      }
    }
    if (sawStarted && (await describeCluster().catch(() => false)) && (await saslReady())) {
      process.stderr.write(
        `servers: kafka: ready on ${env.TSF_TEST_KAFKA} in ${((Date.now() - t0) / 1000).toFixed(1)}s (pid ${child.pid})\n`,
      )
      return { env: { ...env } }
    }
    await sleep(sawStarted ? 200 : 100)
  }
  const tail = logTail() // before stop(), whose shutdown noise would bury the cause
  await stop().catch(() => {})
  throw new Error(`kafka: not ready after ${READY_TIMEOUT_MS / 1000}s; last lines of ${LOG}:\n${tail}`)
}

/** Kill the broker's process group, wait for it to go, remove its data. Safe when not running. */
export async function stop() {
  const pid = readPid()
  if (pid && isOurs(pid)) await stopGroup(pid, () => isOurs(pid))
  fs.rmSync(DATA, { recursive: true, force: true })
  fs.rmSync(PIDFILE, { force: true })
}

export async function status() {
  const pid = readPid()
  const running = !!pid && isOurs(pid)
  return { running, pid: running ? pid : null, fetched: jarsFetched(DIR, LIB), env: running ? { ...env } : {}, log: LOG }
}
