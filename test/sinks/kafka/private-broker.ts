// A Kafka broker of this test's own (same jars as the shared test broker, scripts/servers/kafka.mjs),
// on free ports with its own data directory, so a test can kill it and start it again without
// disturbing the other tests that share the common broker.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdirSync, openSync, closeSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { JAVA, jarsSkip, jvmOptions, stopJvm } from '../../fixtures/private-jvm.js'
import { freePort } from '../../fixtures/tcp-helpers.js'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const KAFKA = join(root, 'test-servers', 'kafka')
const LIB = join(KAFKA, 'lib')
const JAVA_OPTS = jvmOptions('64m', '384m', `-Dlog4j.configuration=file:${join(KAFKA, 'log4j.properties')}`)

export const privateBrokerSkip = (): string | false => jarsSkip(LIB, 'Kafka', 'kafka')

export interface PrivateBroker {
  brokers: string
  // SIGKILL (a crash) or SIGTERM (a clean stop); resolves once the JVM is gone
  stop: (signal?: NodeJS.Signals) => Promise<void>
  // starts it again on the same ports and data; resolves once it serves
  start: () => Promise<void>
}

export const startPrivateBroker = async (dir: string): Promise<PrivateBroker> => {
  const port = await freePort()
  const controller = await freePort()
  const data = join(dir, 'kafka-data')
  mkdirSync(data, { recursive: true })
  const props = join(dir, 'server.properties')
  const base = readFileSync(join(KAFKA, 'server.properties'), 'utf8')
  writeFileSync(
    props,
    base
      .replace(/^log\.dirs=.*$/m, `log.dirs=${data}`)
      .replace(/^controller\.quorum\.voters=.*$/m, `controller.quorum.voters=1@127.0.0.1:${controller}`)
      .replace(/^listeners=.*$/m, `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controller}`)
      .replace(/^advertised\.listeners=.*$/m, `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`),
  )
  const cp = join(LIB, '*')
  const fmt = spawnSync(
    JAVA,
    [...JAVA_OPTS, '-cp', cp, 'kafka.tools.StorageTool', 'format', '-t', 'dHNmLXByaXZhdGUta2Fma2E', '-c', props, '--ignore-formatted'],
    { encoding: 'utf8' },
  )
  if (fmt.status !== 0) throw new Error(`private broker: format failed: ${fmt.stderr}${fmt.stdout}`)
  let child: ChildProcess | undefined
  let starts = 0
  const log = (): string => join(dir, `kafka-${starts}.log`)
  const start = async (): Promise<void> => {
    starts++
    const out = openSync(log(), 'w')
    child = spawn(JAVA, [...JAVA_OPTS, `-Dkafka.logs.dir=${join(dir, 'logs')}`, '-cp', cp, 'kafka.Kafka', props], {
      detached: true,
      stdio: ['ignore', out, out],
    })
    closeSync(out)
    const deadline = Date.now() + 90_000
    while (!readFileSync(log(), 'utf8').includes('Kafka Server started')) {
      if (child.exitCode !== null) throw new Error(`private broker exited: ${readFileSync(log(), 'utf8').slice(-2000)}`)
      if (Date.now() > deadline) throw new Error(`private broker not up after 90 s: ${readFileSync(log(), 'utf8').slice(-2000)}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  const stop = (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => stopJvm(child, signal, { group: true })
  await start()
  return { brokers: `127.0.0.1:${port}`, stop, start }
}
