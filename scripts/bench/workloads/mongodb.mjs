// `tsf ship mongodb://` into a MongoDB wire-protocol server (mongo-java-server, memory backend,
// started for the workload), next to the driver's own insertMany of the same documents. The
// input is the first BENCH_MONGODB_DOCS (default 200,000) access-log lines as tsf events; each run
// gets a fresh server, and must leave exactly that many documents.
import { spawn } from 'node:child_process'
import { createReadStream, existsSync, writeFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { expectClean } from '../checks.mjs'
import { Pipeline, sq } from '../pipeline.mjs'
import { missing, ROOT, TSF } from '../tsf.mjs'

const DOCS = Number(process.env.BENCH_MONGODB_DOCS || 200_000)
const servers = () => import(pathToFileURL(join(ROOT, 'scripts/servers/mongodb.mjs')).href)
const needsJars = () =>
  existsSync(join(ROOT, 'test-servers/mongodb/lib/.fetched'))
    ? undefined
    : 'no mongo-java-server jars (node scripts/servers.mjs fetch mongodb)'

// the first DOCS events, once per scratch dir
const slice = async (ctx) => {
  const events = await ctx.events()
  const path = join(ctx.work, 'docs.ndjson')
  const lines = []
  let bytes = 0
  for await (const line of createInterface({ input: createReadStream(events.path) })) {
    lines.push(line)
    bytes += Buffer.byteLength(line) + 1
    if (lines.length === DOCS) break
  }
  writeFileSync(path, lines.join('\n') + '\n')
  return { path, lines: lines.length, bytes }
}

// a fresh server on a free port; resolves to its address and a stop function
const startServer = async (ctx) => {
  const { serverCommand } = await servers()
  const [cmd, args] = serverCommand(0)
  const child = spawn(
    cmd,
    args.map((a) => (a === '-Xmx512m' ? '-Xmx2g' : a)),
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let said = ''
  const address = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`mongo-java-server not ready: ${said}`)), 60_000)
    const look = (d) => {
      said += d
      const m = /tsf-mongodb ready on (\S+)/.exec(said)
      if (m) {
        clearTimeout(timer)
        resolve(m[1])
      }
    }
    child.stdout.on('data', look)
    child.stderr.on('data', look)
    child.once('exit', (code) => reject(new Error(`mongo-java-server exited (${code}): ${said}`)))
  })
  ctx.say(`mongo-java-server on ${address}`)
  return {
    address,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', resolve)
        child.kill('SIGKILL')
      }),
  }
}

const countDocs = async (address) => {
  const { MongoClient } = await import('mongodb')
  const client = new MongoClient(`mongodb://${address}/`)
  try {
    return await client.db('bench').collection('docs').countDocuments()
  } finally {
    await client.close()
  }
}

const workload = (name, title, stage) => ({
  name,
  title,
  needs: () => missing(['ship']) ?? needsJars(),
  async run(ctx) {
    const docs = await slice(ctx)
    const server = await startServer(ctx)
    try {
      const p = new Pipeline({ dir: ctx.work, stages: stage(docs, server.address), stdout: '/dev/null' })
      await p.wait(ctx.timeoutMs)
      const procs = p.processes()
      const written = await countDocs(server.address)
      const problem =
        expectClean(procs) ?? (written === docs.lines ? undefined : `the server holds ${written} documents, expected ${docs.lines}`)
      return {
        bytes: docs.bytes,
        events: docs.lines,
        wall: p.wall,
        procs,
        problem,
        command: p.command,
        note: `${docs.lines} events as documents; documents/s = events/s`,
      }
    } finally {
      await server.stop()
    }
  },
})

export const mongodbTsf = workload('mongodb', 'tsf ship mongodb://… < events (documents/s)', (docs, address) => [
  { label: 'ship', cmd: `${TSF} ship mongodb://${address}/bench/docs < ${sq(docs.path)}` },
])

export const mongodbDriver = workload('mongodb-driver', "the driver's insertMany of the same documents", (docs, address) => [
  { label: 'insertMany', cmd: `node ${sq(join(ROOT, 'scripts/bench/mongodb-insertmany.mjs'))} ${sq(docs.path)} ${address} bench docs` },
])
