// A MongoDB test server of this test's own (the jars and main class of scripts/servers/mongodb.mjs),
// on a free port with an H2 file, so a test can stop it and start it again, finding its data, without
// disturbing the other tests that share the common server; optionally TLS only.
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { JAVA, jarsSkip, jvmOptions, stopJvm } from '../../fixtures/private-jvm.js'
import { freePort } from '../../fixtures/tcp-helpers.js'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const DIR = join(root, 'test-servers', 'mongodb')
const LIB = join(DIR, 'lib')
const JAVA_OPTS = jvmOptions('32m', '256m', '-Dorg.slf4j.simpleLogger.defaultLogLevel=warn')

export const privateServerSkip = (): string | false => jarsSkip(LIB, 'mongo-java-server', 'mongodb')

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
  const stop = (): Promise<void> => stopJvm(child, 'SIGTERM')
  await start()
  return { address: `127.0.0.1:${port}`, start, stop }
}
