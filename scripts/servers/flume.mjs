// Apache Flume 1.11.0 for tsf's Flume interop tests. Unlike Kafka and HDFS there is no shared
// long-running server: each test starts the Flume agents it needs (TAILDIR → avro sink agents,
// avro source → file_roll collectors) with configs it writes, and kills them itself
// (test/fixtures/flume.ts). start() therefore only checks that Java and the jars are there and
// hands the tests where the jars are.
// Contract (see scripts/servers.mjs): fetch(), start() -> { env }, stop(), status().
// Jars come from Maven Central (test-servers/flume/pom.xml -> test-servers/flume/lib, ~100 jars).
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import { fetchJars, jarsFetched } from './_maven.mjs'
import { JAVA, serverDirs } from './_process.mjs'

const { DIR, LIB } = serverDirs('flume')

const hasNode = (lib) => fs.existsSync(lib) && fs.readdirSync(lib).some((f) => /^flume-ng-node-.*\.jar$/.test(f))

export const env = { TSF_TEST_FLUME_LIB: LIB, TSF_TEST_JAVA: JAVA }

/** Download the jars with Maven, unless lib/ already holds what pom.xml asks for. */
export async function fetch() {
  fetchJars('flume', DIR, LIB, (lib) => {
    if (!hasNode(lib)) return 'flume-ng-node jar'
    if (!fs.readdirSync(lib).some((f) => /^flume-taildir-source-.*\.jar$/.test(f))) return 'flume-taildir-source jar'
    return undefined
  })
}

/** Nothing runs until a test starts an agent: check Java and the jars, and say where they are. */
export async function start() {
  if (!jarsFetched(DIR, LIB) || !hasNode(LIB)) throw new Error(`flume: no jars in ${LIB}: run node scripts/servers.mjs fetch flume`)
  const r = spawnSync(JAVA, ['-version'], { stdio: 'ignore' })
  if (r.error || r.status !== 0) throw new Error(`flume: cannot run ${JAVA}${r.error ? `: ${r.error.message}` : ''}`)
  return { env: { ...env } }
}

/** Agents belong to the tests that started them; there is nothing shared to stop. */
export async function stop() {}

/** No process of its own: never "running" (so no run ever waits for, reuses or stops one). */
export async function status() {
  return { running: false }
}
