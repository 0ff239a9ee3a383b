// Kafka 3.9.1, single-node KRaft (broker + controller in one JVM), for tsf's tests.
// Contract (see scripts/servers.mjs): fetch(), start() -> { env }, stop(), status().
// Jars come from Maven Central (test-servers/kafka/pom.xml -> test-servers/kafka/lib);
// runtime files (data, log, pid, generated properties) live in test-servers/kafka/run/.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { fetchJars, jarsFetched } from './_maven.mjs';
import { readPid as readPidFile, stopGroup } from './_process.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIR = path.join(ROOT, 'test-servers', 'kafka');
const LIB = path.join(DIR, 'lib');
const RUN = path.join(DIR, 'run');
const DATA = path.join(RUN, 'data');
const LOG = path.join(RUN, 'kafka.log');
const PIDFILE = path.join(RUN, 'kafka.pid');
const PROPS = path.join(RUN, 'server.properties');

const HOST = '127.0.0.1';
const PORT = 19092;
const CONTROLLER_PORT = 19093;
// Fixed cluster id (22 chars of base64url), so no extra JVM run is needed to make one.
const CLUSTER_ID = 'dHNmLXRlc3Qta2Fma2EtMQ';
const READY_TIMEOUT_MS = Number(process.env.TSF_TEST_SERVER_TIMEOUT_MS || 120_000);

export const env = { TSF_TEST_KAFKA: `${HOST}:${PORT}` };

const JAVA = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java';
const JAVA_OPTS = [
  '-Xms128m', '-Xmx512m',
  // Functional tests only: faster JVM boot, no benchmarks against this broker.
  '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-XX:-UsePerfData',
  '-Djava.awt.headless=true',
  '-Djava.net.preferIPv4Stack=true',
  `-Dlog4j.configuration=file:${path.join(DIR, 'log4j.properties')}`,
  `-Dkafka.logs.dir=${path.join(RUN, 'logs')}`,
];

/** Download the jars with Maven, unless lib/ already holds what pom.xml asks for. */
export async function fetch() {
  fetchJars('kafka', DIR, LIB, (lib) =>
    (fs.existsSync(lib) && fs.readdirSync(lib).some((f) => /^kafka_2\.13-.*\.jar$/.test(f)) ? undefined : 'kafka_2.13 jar'));
}

const readPid = () => readPidFile(PIDFILE);

/** True when pid is alive and is our Kafka JVM (guards against pid reuse). */
function isOurs(pid) {
  try {
    const cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return cmd.includes('kafka.Kafka') && cmd.includes(PROPS);
  } catch {
    return false;
  }
}

function logTail(n = 40) {
  try {
    const text = fs.readFileSync(LOG, 'utf8').trimEnd();
    return text ? text.split('\n').slice(-n).join('\n') : '(the log is empty: the broker logs only warnings before it is up)';
  } catch {
    return '(no log)';
  }
}

function portFree(port) {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, HOST, () => s.close(() => resolve(true)));
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function describeCluster() {
  const { Kafka, logLevel } = await import('kafkajs');
  const kafka = new Kafka({ clientId: 'tsf-servers', brokers: [env.TSF_TEST_KAFKA], logLevel: logLevel.NOTHING,
    retry: { retries: 0 }, connectionTimeout: 2000, requestTimeout: 5000 });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const c = await admin.describeCluster();
    if (c.brokers.length === 0) return false;
    // Warm up: finding a group coordinator creates __consumer_offsets now, so the first consumer
    // in a test does not log "The group coordinator is not available" while it is being created.
    await admin.describeGroups(['tsf-warmup']);
    return true;
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

/** Start the broker (detached, survives the calling process) and resolve once it serves requests. */
export async function start() {
  await fetch();
  const old = readPid();
  if (old && isOurs(old)) throw new Error(`kafka: already running (pid ${old}); run: node scripts/servers.mjs stop kafka`);
  for (const p of [PORT, CONTROLLER_PORT]) {
    if (!(await portFree(p))) throw new Error(`kafka: port ${HOST}:${p} is already in use by another process`);
  }
  fs.rmSync(DATA, { recursive: true, force: true });
  fs.rmSync(path.join(RUN, 'logs'), { recursive: true, force: true });
  fs.mkdirSync(DATA, { recursive: true });
  fs.mkdirSync(path.join(RUN, 'logs'), { recursive: true });
  const base = fs.readFileSync(path.join(DIR, 'server.properties'), 'utf8');
  fs.writeFileSync(PROPS, base.replace(/^log\.dirs=.*$/m, `log.dirs=${DATA}`));

  const t0 = Date.now();
  const cp = path.join(LIB, '*');
  const fmt = spawnSync(JAVA, [...JAVA_OPTS, '-cp', cp, 'kafka.tools.StorageTool', 'format',
    '-t', CLUSTER_ID, '-c', PROPS, '--ignore-formatted'], { encoding: 'utf8' });
  if (fmt.error || fmt.status !== 0) {
    throw new Error(`kafka: storage format failed (exit ${fmt.status}): ${fmt.error?.message ?? ''}\n${fmt.stdout}${fmt.stderr}`);
  }

  const out = fs.openSync(LOG, 'w');
  const child = spawn(JAVA, [...JAVA_OPTS, '-cp', cp, 'kafka.Kafka', PROPS],
    { cwd: RUN, detached: true, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  let exited = null;
  child.on('exit', (code, sig) => { exited = sig ?? code; });
  child.on('error', (e) => { exited = e.message; });
  fs.writeFileSync(PIDFILE, `${child.pid}\n`);
  child.unref();

  const deadline = t0 + READY_TIMEOUT_MS;
  let sawStarted = false;
  while (Date.now() < deadline) {
    if (exited !== null) {
      throw new Error(`kafka: JVM exited (${exited}) before it was ready; last lines of ${LOG}:\n${logTail()}`);
    }
    if (!sawStarted) {
      try { sawStarted = fs.readFileSync(LOG, 'utf8').includes('Kafka Server started'); } catch { /* not yet */ }
    }
    if (sawStarted && await describeCluster().catch(() => false)) {
      process.stderr.write(`servers: kafka: ready on ${env.TSF_TEST_KAFKA} in ${((Date.now() - t0) / 1000).toFixed(1)}s (pid ${child.pid})\n`);
      return { env: { ...env } };
    }
    await sleep(sawStarted ? 200 : 100);
  }
  const tail = logTail(); // before stop(), whose shutdown noise would bury the cause
  await stop().catch(() => {});
  throw new Error(`kafka: not ready after ${READY_TIMEOUT_MS / 1000}s; last lines of ${LOG}:\n${tail}`);
}

/** Kill the broker's process group, wait for it to go, remove its data. Safe when not running. */
export async function stop() {
  const pid = readPid();
  if (pid && isOurs(pid)) await stopGroup(pid, () => isOurs(pid));
  fs.rmSync(DATA, { recursive: true, force: true });
  fs.rmSync(PIDFILE, { force: true });
}

export async function status() {
  const pid = readPid();
  const running = !!pid && isOurs(pid);
  return { running, pid: running ? pid : null, fetched: jarsFetched(DIR, LIB), env: running ? { ...env } : {}, log: LOG };
}
