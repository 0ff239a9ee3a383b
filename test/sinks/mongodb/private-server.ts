// A MongoDB test server of this test's own (the jars and main class of scripts/servers/mongodb.mjs),
// on a free port with an H2 file, so a test can stop it and start it again, finding its data, without
// disturbing the other tests that share the common server; optionally TLS only.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from '../../fixtures/tcp-helpers.js'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const DIR = join(root, 'test-servers', 'mongodb')
const LIB = join(DIR, 'lib')
const JAVA = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java'
const JAVA_OPTS = [
  '-Xms32m',
  '-Xmx256m',
  '-XX:TieredStopAtLevel=1',
  '-XX:+UseSerialGC',
  '-XX:-UsePerfData',
  '-Djava.net.preferIPv4Stack=true',
  '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn',
]

// The skip reason of a test that needs a server of its own: none under CI=true, where missing jars
// must fail the test (startPrivateServer then throws), never skip it quietly.
export const privateServerSkip = (): string | false =>
  existsSync(join(LIB, '.fetched')) || process.env.CI === 'true'
    ? false
    : 'needs the mongo-java-server jars (node scripts/servers.mjs fetch mongodb)'

export interface PrivateServer {
  address: string
  // SIGTERM: a clean stop (the H2 file is committed); resolves once the JVM is gone
  stop: () => Promise<void>
  // starts it again on the same port and file; resolves once it accepts connections
  start: () => Promise<void>
}

export const startPrivateServer = async (dir: string, options: { tls?: { key: string; cert: string } } = {}): Promise<PrivateServer> => {
  const port = await freePort()
  const file = join(dir, 'mongo.h2')
  const tls = options.tls ? ['--tls', options.tls.key, options.tls.cert] : []
  let child: ChildProcess | undefined
  const start = async (): Promise<void> => {
    const proc = spawn(JAVA, [...JAVA_OPTS, '-cp', join(LIB, '*'), join(DIR, 'TsfMongoServer.java'), String(port), file, ...tls], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    child = proc
    let said = ''
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`private mongodb not ready: ${said}`)), 60_000)
      const look = (d: Buffer): void => {
        said += d.toString()
        if (said.includes('tsf-mongodb ready on')) {
          clearTimeout(timer)
          resolve()
        }
      }
      proc.stdout!.on('data', look)
      proc.stderr!.on('data', look)
      proc.once('exit', (code) => {
        clearTimeout(timer)
        reject(new Error(`private mongodb exited (${code}): ${said}`))
      })
    })
  }
  const stop = async (): Promise<void> => {
    const proc = child
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return
    const gone = new Promise((resolve) => proc.once('exit', resolve))
    proc.kill('SIGTERM')
    await gone
  }
  await start()
  return { address: `127.0.0.1:${port}`, start, stop }
}
