// A MongoDB wire-protocol server for tsf's tests: mongo-java-server 1.47.0 (de.bwaldvogel), memory
// backend, on a free port of 127.0.0.1. Contract (see scripts/servers.mjs): fetch(), start() ->
// { env }, stop(), status(). Jars come from Maven Central (test-servers/mongodb/pom.xml ->
// test-servers/mongodb/lib); the server's main class is test-servers/mongodb/TsfMongoServer.java,
// run as a single-file source program (needs a JDK); runtime files live in test-servers/mongodb/run/.
import fs from 'node:fs'
import path from 'node:path'
import { fetchJars, jarsFetched } from './_maven.mjs'
import { cmdlineHas, JAVA, READY_TIMEOUT_MS, readPid as readPidFile, serverDirs, sleep, spawnDetached, stopGroup } from './_process.mjs'

const { DIR, LIB, RUN } = serverDirs('mongodb')
const LOG = path.join(RUN, 'mongodb.log')
const PIDFILE = path.join(RUN, 'mongodb.pid')
const ADDRESS = path.join(RUN, 'address')
const MAIN = path.join(DIR, 'TsfMongoServer.java')
const HOST = '127.0.0.1'
// 0: the server takes a free port and says which; TSF_TEST_MONGODB_PORT pins one
const PORT = Number(process.env.TSF_TEST_MONGODB_PORT || 0)

// Functional tests and a relative benchmark only: small heap, fast JVM boot.
export const JAVA_OPTS = [
  '-Xms64m',
  '-Xmx512m',
  '-XX:+UseSerialGC',
  '-XX:-UsePerfData',
  '-Djava.net.preferIPv4Stack=true',
  '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
]

const envOf = (address) => ({ TSF_TEST_MONGODB: address })

/** Download the jars with Maven, unless lib/ already holds what pom.xml asks for. */
export async function fetch() {
  fetchJars('mongodb', DIR, LIB, (lib) =>
    fs.existsSync(lib) && fs.readdirSync(lib).some((f) => /^mongo-java-server-memory-backend-.*\.jar$/.test(f))
      ? undefined
      : 'mongo-java-server jars',
  )
}

/** The command line that runs the server on `port` (0: any), in memory or in the H2 file `h2`. */
export function serverCommand(port, h2) {
  return [JAVA, [...JAVA_OPTS, '-cp', path.join(LIB, '*'), MAIN, String(port), ...(h2 ? [h2] : [])]]
}

const readPid = () => readPidFile(PIDFILE)

/** True when pid is alive and is our server JVM (guards against pid reuse). */
const isOurs = (pid) => cmdlineHas(pid, MAIN)

function logText() {
  try {
    return fs.readFileSync(LOG, 'utf8')
  } catch {
    return ''
  }
}

/** Start the server (detached, survives the calling process) and resolve once it accepts connections. */
export async function start() {
  await fetch()
  const old = readPid()
  if (old && isOurs(old)) throw new Error(`mongodb: already running (pid ${old}); run: node scripts/servers.mjs stop mongodb`)
  fs.mkdirSync(RUN, { recursive: true })
  fs.rmSync(ADDRESS, { force: true })
  const t0 = Date.now()
  const [cmd, args] = serverCommand(PORT)
  const child = spawnDetached(cmd, args, { cwd: RUN, log: LOG, pidFile: PIDFILE })
  while (Date.now() < t0 + READY_TIMEOUT_MS) {
    if (child.exited !== null)
      throw new Error(
        `mongodb: JVM exited (${child.exited}) before it was ready; ${LOG}:\n${logText().trim().split('\n').slice(-30).join('\n')}`,
      )
    const ready = /tsf-mongodb ready on (\S+)/.exec(logText())
    if (ready) {
      fs.writeFileSync(ADDRESS, `${ready[1]}\n`)
      process.stderr.write(`servers: mongodb: ready on ${ready[1]} in ${((Date.now() - t0) / 1000).toFixed(1)}s (pid ${child.pid})\n`)
      return { env: envOf(ready[1]) }
    }
    await sleep(100)
  }
  const tail = logText().trim().split('\n').slice(-30).join('\n')
  await stop().catch(() => {})
  throw new Error(`mongodb: not ready after ${READY_TIMEOUT_MS / 1000}s; ${LOG}:\n${tail}`)
}

/** Kill the server's process group and wait for it to go. Safe when not running. */
export async function stop() {
  const pid = readPid()
  if (pid && isOurs(pid)) await stopGroup(pid, () => isOurs(pid), { timeoutMs: 10_000 })
  fs.rmSync(PIDFILE, { force: true })
  fs.rmSync(ADDRESS, { force: true })
}

export async function status() {
  const pid = readPid()
  const running = !!pid && isOurs(pid)
  let address = ''
  try {
    address = fs.readFileSync(ADDRESS, 'utf8').trim()
  } catch {
    /* not started */
  }
  return { running, pid: running ? pid : null, fetched: jarsFetched(DIR, LIB), env: running && address ? envOf(address) : {}, log: LOG }
}
