// HDFS 3.3.6, one NameNode + one DataNode (two JVMs), for tsf's WebHDFS tests.
// Contract (see scripts/servers.mjs): fetch(), start() -> { env }, stop(), status(); plus
// restartNameNode() for tests that take the NameNode away mid-stream.
//
// Jars come from Maven Central (test-servers/hdfs/pom.xml -> test-servers/hdfs/lib); config is
// test-servers/hdfs/conf (first on the classpath, which is how the daemons find core-site.xml and
// hdfs-site.xml); everything the daemons write (name dir, data dir, logs, pid files) lives in
// test-servers/hdfs/run/. Ports, all on 127.0.0.1: NameNode RPC 19000 and HTTP (WebHDFS) 19870,
// DataNode data 19866, HTTP 19864, IPC 19867.
//
// Facts found by running it (Hadoop 3.3.6 on OpenJDK 17.0.15):
// - hadoop-hdfs declares hadoop-hdfs-client `provided`: without it in the pom the NameNode dies with
//   NoClassDefFoundError org/apache/hadoop/hdfs/protocol/ClientProtocol.
// - The webapps/{hdfs,datanode} directories are NOT in the hadoop-hdfs jar (only in the binary
//   tarball); HttpServer2 only needs them to exist on the classpath, so start() makes empty ones
//   under run/cp/ and puts that directory on the classpath.
// - Java 17 needs exactly one --add-opens: java.base/java.lang (the old JAXB in Jersey 1 defines
//   classes through ClassLoader.defineClass; without it every WebHDFS call answers 500). Checked with
//   -Dsun.reflect.debugModuleAccessChecks=true over create/append/truncate + block recovery/rename/
//   list/delete/open and a NameNode restart: no other module access was denied.
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import http from 'node:http'
import path from 'node:path'
import { fetchJars, jarsFetched } from './_maven.mjs'
import {
  cmdlineHas,
  JAVA,
  portFree as portFreeOn,
  READY_TIMEOUT_MS,
  readPid as readPidFile,
  ROOT,
  serverDirs,
  sleep,
  spawnDetached,
  stopGroup,
} from './_process.mjs'

const { DIR, LIB, RUN } = serverDirs('hdfs')
const CONF = path.join(DIR, 'conf')
const LOGS = path.join(RUN, 'logs')
const CPDIR = path.join(RUN, 'cp')

const HOST = '127.0.0.1'
const PORTS = { nnRpc: 19000, nnHttp: 19870, dnData: 19866, dnHttp: 19864, dnIpc: 19867 }
const WEBHDFS = `http://${HOST}:${PORTS.nnHttp}`
const STOP_TIMEOUT_MS = 15_000

export const env = { TSF_TEST_WEBHDFS: WEBHDFS }

const DAEMONS = {
  namenode: { main: 'org.apache.hadoop.hdfs.server.namenode.NameNode' },
  datanode: { main: 'org.apache.hadoop.hdfs.server.datanode.DataNode' },
}
const pidFile = (name) => path.join(RUN, `${name}.pid`)
const logFile = (name) => path.join(LOGS, `${name}.log`)

const JAVA_OPTS = [
  '-Xms64m',
  '-Xmx256m',
  // Functional tests only: faster JVM boot and a smaller footprint.
  '-XX:TieredStopAtLevel=1',
  '-XX:+UseSerialGC',
  '-XX:-UsePerfData',
  '-Djava.net.preferIPv4Stack=true',
  '--add-opens=java.base/java.lang=ALL-UNNAMED',
  // hdfs-site.xml expands ${tsf.hdfs.run} (Hadoop's Configuration reads Java system properties).
  `-Dtsf.hdfs.run=${RUN}`,
  `-Dhadoop.home.dir=${DIR}`,
  `-Dhadoop.log.dir=${LOGS}`,
  `-Dlog4j.configuration=file:${path.join(CONF, 'log4j.properties')}`,
]
const CLASSPATH = [CONF, CPDIR, path.join(LIB, '*')].join(path.delimiter)

const say = (msg) => process.stderr.write(`servers: hdfs: ${msg}\n`)
const secs = (ms) => `${(ms / 1000).toFixed(1)}s`

// ---- fetch ----

/** Download the jars with Maven, unless lib/ already holds what pom.xml asks for. */
export async function fetch() {
  fetchJars('hdfs', DIR, LIB, (lib) =>
    ['hadoop-common-3.3.6.jar', 'hadoop-hdfs-3.3.6.jar', 'hadoop-hdfs-client-3.3.6.jar'].find((jar) => !fs.existsSync(path.join(lib, jar))),
  )
}

// ---- processes ----

const readPid = (name) => readPidFile(pidFile(name))

/** True when pid is alive and is our daemon (guards against pid reuse). */
const isOurs = (pid, name) => cmdlineHas(pid, DAEMONS[name].main, `-Dtsf.hdfs.run=${RUN}`)

function running(name) {
  const pid = readPid(name)
  return pid && isOurs(pid, name) ? pid : null
}

function logTail(name, n = 30) {
  try {
    const lines = fs
      .readFileSync(logFile(name), 'utf8')
      .split('\n')
      .filter((l) => !l.startsWith('STARTUP_MSG:   classpath') && !l.startsWith('STARTUP_MSG:   build'))
    return lines
      .slice(-n - 1)
      .map((l) => (l.length > 400 ? `${l.slice(0, 400)}…` : l))
      .join('\n')
  } catch {
    return '(no log)'
  }
}

const tails = (names = ['namenode', 'datanode']) =>
  names.map((n) => `--- last lines of ${path.relative(ROOT, logFile(n))}:\n${logTail(n)}`).join('\n')

const portFree = (port) => portFreeOn(HOST, port)

/** Spawn a daemon detached (its own process group, survives the caller); returns a liveness probe. */
const spawnDaemon = (name, args = [], { append = false } = {}) =>
  spawnDetached(JAVA, [...JAVA_OPTS, '-cp', CLASSPATH, DAEMONS[name].main, ...args], {
    cwd: RUN,
    log: logFile(name),
    pidFile: pidFile(name),
    append,
  })

/** SIGTERM (or the given signal) to the daemon's process group, wait; SIGKILL after a timeout. */
async function stopDaemon(name, signal = 'SIGTERM') {
  const pid = running(name)
  if (pid) await stopGroup(pid, () => isOurs(pid, name), { signal, timeoutMs: STOP_TIMEOUT_MS })
  fs.rmSync(pidFile(name), { force: true })
}

// ---- readiness ----

/** A tiny HTTP request with node:http. Not global fetch: undici fails every DataNode write with
 *  UND_ERR_SOCKET "bad response", because the DataNode sends an unsolicited "100 Continue". */
function request(url, { method = 'GET', body, timeoutMs = 5000 } = {}) {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : Buffer.from(body)
    const req = http.request(url, { method, headers: data ? { 'content-length': data.length } : {} }, (res) => {
      const chunks = []
      res.on('data', (c) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') }))
      res.on('error', reject)
    })
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`timeout after ${timeoutMs} ms`)))
    req.on('error', reject)
    req.end(data)
  })
}

/**
 * One probe: a real two-step WebHDFS CREATE of a small file. Succeeds only when the NameNode is
 * out of safe mode, a DataNode has registered, and that DataNode can write a block.
 * Returns null on success, else a short reason.
 */
async function probe() {
  const url = `${WEBHDFS}/webhdfs/v1/tmp/.tsf-probe?op=CREATE&overwrite=true&noredirect=true&user.name=tsf`
  try {
    const r1 = await request(url, { method: 'PUT' })
    if (r1.status !== 200) return `NameNode CREATE: HTTP ${r1.status} ${r1.body.slice(0, 200)}`
    const r2 = await request(JSON.parse(r1.body).Location, { method: 'PUT', body: 'probe\n' })
    return r2.status === 201 ? null : `DataNode CREATE: HTTP ${r2.status} ${r2.body.slice(0, 200)}`
  } catch (e) {
    return `${e.code ?? e.name}: ${e.message}`
  }
}

async function waitReady(what, watched, t0) {
  const deadline = t0 + READY_TIMEOUT_MS
  let reason = 'not probed'
  while (Date.now() < deadline) {
    for (const [name, state] of Object.entries(watched)) {
      if (state.exited !== null) {
        throw new Error(`hdfs: the ${name} JVM exited (${state.exited}) before HDFS was ready\n${tails()}`)
      }
    }
    reason = await probe()
    if (reason === null) return Date.now() - t0
    await sleep(100)
  }
  throw new Error(`hdfs: ${what} not ready after ${secs(READY_TIMEOUT_MS)} (last probe: ${reason})\n${tails()}`)
}

function prepareRunDir() {
  fs.mkdirSync(LOGS, { recursive: true })
  // HttpServer2 looks up webapps/<name> as a classpath resource; empty directories are enough.
  for (const app of ['hdfs', 'datanode', 'secondary', 'static']) {
    fs.mkdirSync(path.join(CPDIR, 'webapps', app), { recursive: true })
  }
}

function removeData() {
  for (const d of ['nn', 'dn', 'tmp']) fs.rmSync(path.join(RUN, d), { recursive: true, force: true })
}

// ---- API ----

/**
 * Start the NameNode and the DataNode (detached: they outlive the calling process) and resolve
 * once a probe CREATE through WebHDFS succeeds. Formats the NameNode when its name dir is empty
 * (always after stop(), which removes the data).
 */
export async function start() {
  await fetch()
  for (const name of Object.keys(DAEMONS)) {
    const pid = running(name)
    if (pid) throw new Error(`hdfs: the ${name} is already running (pid ${pid}); run: node scripts/servers.mjs stop hdfs`)
  }
  for (const [what, port] of Object.entries(PORTS)) {
    if (!(await portFree(port))) throw new Error(`hdfs: port ${HOST}:${port} (${what}) is already in use by another process`)
  }
  prepareRunDir()

  const t0 = Date.now()
  if (!fs.existsSync(path.join(RUN, 'nn', 'current', 'VERSION'))) {
    // A fresh namespace gets a new cluster id: a DataNode dir from an older one would be refused.
    removeData()
    const fmt = spawnSync(JAVA, [...JAVA_OPTS, '-cp', CLASSPATH, DAEMONS.namenode.main, '-format', '-force', '-nonInteractive'], {
      cwd: RUN,
      encoding: 'utf8',
    })
    if (fmt.error || fmt.status !== 0) {
      const out = `${fmt.stdout ?? ''}${fmt.stderr ?? ''}`.split('\n').slice(-30).join('\n')
      throw new Error(`hdfs: NameNode -format failed (${fmt.error?.message ?? `exit ${fmt.status}`}):\n${out}`)
    }
  }
  const tFormat = Date.now() - t0
  const watched = { namenode: spawnDaemon('namenode'), datanode: spawnDaemon('datanode') }
  try {
    const ms = await waitReady('NameNode + DataNode', watched, t0)
    say(`ready at ${WEBHDFS} in ${secs(ms)} (format ${secs(tFormat)}; pids ${watched.namenode.pid}, ${watched.datanode.pid})`)
    return { env: { ...env }, startupMs: ms }
  } catch (e) {
    await stop().catch(() => {})
    throw e
  }
}

/**
 * Kill both JVMs' process groups (SIGTERM, SIGKILL after 15 s), wait for them to exit, remove the
 * HDFS data (logs stay in test-servers/hdfs/run/logs for post-mortems). Safe when not running.
 */
export async function stop() {
  await Promise.all([stopDaemon('namenode'), stopDaemon('datanode')])
  removeData()
}

/**
 * Stop the NameNode only (the DataNode keeps running), keep it down for `downMs`, start it again on
 * the same name dir and resolve once a probe CREATE succeeds again. `signal: 'SIGKILL'` simulates
 * a crash instead of a clean shutdown. Resolves { env, stopMs, readyMs }: how long the stop took and
 * how long from the new JVM's spawn until WebHDFS writes worked again.
 */
export async function restartNameNode({ downMs = 0, signal = 'SIGTERM' } = {}) {
  if (!running('namenode')) throw new Error('hdfs: restartNameNode: the NameNode is not running (start() first)')
  const t0 = Date.now()
  await stopDaemon('namenode', signal)
  const stopMs = Date.now() - t0
  if (downMs > 0) await sleep(downMs)
  const t1 = Date.now()
  const watched = { namenode: spawnDaemon('namenode', [], { append: true }) }
  const readyMs = await waitReady('NameNode after restart', watched, t1)
  say(`NameNode restarted: stop ${secs(stopMs)}, down ${secs(downMs)}, ready ${secs(readyMs)} after spawn`)
  return { env: { ...env }, stopMs, readyMs }
}

export async function status() {
  const nn = running('namenode')
  const dn = running('datanode')
  const up = !!nn && !!dn
  return {
    running: up,
    pid: nn,
    pids: { namenode: nn, datanode: dn },
    fetched: jarsFetched(DIR, LIB),
    env: up ? { ...env } : {},
    logs: [logFile('namenode'), logFile('datanode')],
  }
}
