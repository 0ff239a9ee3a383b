#!/usr/bin/env node
// Real test servers (Kafka, HDFS, ...) run from Maven Central jars. See docs/test-servers.md.
//
//   node scripts/servers.mjs fetch|start|stop|status [all|kafka|hdfs|kafka,hdfs ...]
//
// Every server is a module scripts/servers/<name>.mjs exporting
//   async fetch()            download jars (idempotent)
//   async start()            start it detached; resolve to { env: {...} } once it is READY
//   async stop()             kill its process group, wait, remove its data; safe when not running
//   async status()           optional: { running: boolean, pid?, env? }; enables sharing (below)
// `all` means every module present in scripts/servers/ (files starting with "_" are not servers).
//
// Sharing: several `npm test` runs in one working tree may overlap. Each run takes a lease on a
// server; a server that is already running (and whose module has status()) is reused, and it is
// stopped only when the last lease is released. `start` on the command line takes a "manual" lease
// that only `stop` removes; `stop` always stops. Leases and locks live in $TMPDIR, not in the repo.
//
// Programmatic API (used by scripts/test.mjs): listServers, resolveNames, fetchServers,
// startServers, stopServers, statusServers.
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

const HERE = path.dirname(fileURLToPath(import.meta.url))
export const ROOT = path.resolve(HERE, '..')
export const SERVERS_DIR = path.join(HERE, 'servers')
const STATE = path.join(os.tmpdir(), `tsf-test-servers-${createHash('sha1').update(ROOT).digest('hex').slice(0, 10)}`)
const LOCK_WAIT_MS = 10 * 60_000

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))
const say = (msg) => process.stderr.write(`servers: ${msg}\n`)

/** Names of the server modules present in scripts/servers/. */
export function listServers() {
  let files = []
  try {
    files = fs.readdirSync(SERVERS_DIR)
  } catch {
    /* no dir: no servers */
  }
  return files
    .filter((f) => f.endsWith('.mjs') && !f.startsWith('_'))
    .map((f) => f.slice(0, -4))
    .sort()
}

/** 'all' | 'none' | 'kafka' | 'kafka,hdfs' | ['kafka', 'hdfs'] -> list of names; unknown name -> Error. */
export function resolveNames(spec = 'all') {
  const parts = (Array.isArray(spec) ? spec : [spec]).flatMap((s) => String(s).split(/[\s,]+/)).filter(Boolean)
  if (parts.length === 0 || parts.includes('all')) return listServers()
  if (parts.every((p) => p === 'none')) return []
  const present = new Set(listServers())
  for (const n of parts) {
    if (n === 'none') continue
    if (!/^[a-z0-9][a-z0-9_-]*$/.test(n) || !present.has(n)) {
      throw new Error(
        `unknown test server "${n}": there is no module scripts/servers/${n}.mjs` + ` (present: ${[...present].join(', ') || 'none'})`,
      )
    }
  }
  return [...new Set(parts.filter((n) => n !== 'none'))]
}

async function load(name) {
  const file = path.join(SERVERS_DIR, `${name}.mjs`)
  if (!fs.existsSync(file)) throw new Error(`unknown test server "${name}": there is no module ${path.relative(ROOT, file)}`)
  const mod = await import(pathToFileURL(file).href)
  for (const fn of ['fetch', 'start', 'stop']) {
    if (typeof mod[fn] !== 'function') throw new Error(`${path.relative(ROOT, file)} does not export async ${fn}()`)
  }
  return mod
}

// ---- per-server lock and leases (in $TMPDIR/tsf-test-servers-<hash of repo path>/<name>/) ----

function alive(pid) {
  try {
    process.kill(pid, 0)
    return true
  } catch (e) {
    return e.code === 'EPERM'
  }
}

async function withLock(name, fn) {
  const dir = path.join(STATE, name)
  fs.mkdirSync(dir, { recursive: true })
  const lock = path.join(dir, 'lock')
  const until = Date.now() + LOCK_WAIT_MS
  let told = false
  for (;;) {
    try {
      fs.mkdirSync(lock)
      fs.writeFileSync(path.join(lock, 'owner'), `${process.pid}\n`)
      break
    } catch (e) {
      if (e.code !== 'EEXIST') throw e
      let owner = NaN
      try {
        owner = Number(fs.readFileSync(path.join(lock, 'owner'), 'utf8'))
      } catch {
        /* being written */
      }
      if (Number.isInteger(owner) && !alive(owner)) {
        fs.rmSync(lock, { recursive: true, force: true })
        continue
      }
      if (Date.now() > until) throw new Error(`${name}: lock ${lock} held by pid ${owner} for too long`)
      if (!told) {
        say(`${name}: waiting for another tsf test run (pid ${owner}) that is starting/stopping it`)
        told = true
      }
      await sleep(200)
    }
  }
  try {
    return await fn(dir)
  } finally {
    fs.rmSync(lock, { recursive: true, force: true })
  }
}

function leases(dir) {
  const ld = path.join(dir, 'leases')
  fs.mkdirSync(ld, { recursive: true })
  const live = []
  for (const f of fs.readdirSync(ld)) {
    if (f === 'manual' || alive(Number(f))) live.push(f)
    else fs.rmSync(path.join(ld, f), { force: true })
  }
  return live
}
const addLease = (dir, id) => fs.writeFileSync(path.join(dir, 'leases', String(id)), '')
const dropLease = (dir, id) => fs.rmSync(path.join(dir, 'leases', String(id)), { force: true })

// ---- API ----

/** Fetch jars, one server after the other (parallel mvn runs share ~/.m2 and may collide). */
export async function fetchServers(names) {
  for (const name of resolveNames(names)) await (await load(name)).fetch()
}

async function startOne(name, lease) {
  const mod = await load(name)
  return withLock(name, async (dir) => {
    const holders = leases(dir)
    const st = typeof mod.status === 'function' ? await mod.status() : null
    if (st?.running && holders.length > 0 && st.env) {
      say(`${name}: reusing the running server (pid ${st.pid ?? '?'}, used by ${holders.join(', ')})`)
      addLease(dir, lease)
      return { env: { ...st.env }, reused: true }
    }
    if (st?.running) {
      say(`${name}: stopping a leftover server nobody uses (pid ${st.pid ?? '?'})`)
      await mod.stop()
    }
    const res = await mod.start()
    if (!res || typeof res.env !== 'object') throw new Error(`${name}: start() did not resolve to { env }`)
    addLease(dir, lease)
    return { env: { ...res.env }, reused: false }
  })
}

/**
 * Start servers in parallel; resolves to { env, started: [names], failed: [{ name, error }] }.
 * By default a failure stops the servers this call started and rejects; with { keepGoing: true }
 * it returns what did start.
 */
export async function startServers(names, { keepGoing = false, lease = process.pid } = {}) {
  const list = resolveNames(names)
  const results = await Promise.allSettled(list.map((n) => startOne(n, lease)))
  const env = {}
  const started = []
  const failed = []
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') {
      Object.assign(env, r.value.env)
      started.push(list[i])
    } else failed.push({ name: list[i], error: r.reason })
  })
  if (failed.length && !keepGoing) {
    await stopServers(started, { lease }).catch(() => {})
    const err = new Error(failed.map((f) => f.error?.message ?? String(f.error)).join('\n'))
    err.failed = failed
    throw err
  }
  return { env, started, failed }
}

/**
 * Release this process' lease on each server and stop those nobody else uses.
 * { force: true } stops regardless of other users (the CLI's `stop`).
 */
export async function stopServers(names, { lease = process.pid, force = false } = {}) {
  const list = resolveNames(names)
  const errors = []
  await Promise.all(
    list.map(async (name) => {
      try {
        const mod = await load(name)
        await withLock(name, async (dir) => {
          if (force) {
            for (const f of leases(dir)) dropLease(dir, f)
          } else {
            dropLease(dir, lease)
            const others = leases(dir)
            if (others.length) {
              say(`${name}: left running for ${others.join(', ')}`)
              return
            }
          }
          await mod.stop()
        })
      } catch (e) {
        errors.push(`${name}: ${e.message}`)
      }
    }),
  )
  if (errors.length) throw new Error(errors.join('\n'))
}

export async function statusServers(names) {
  const out = {}
  for (const name of resolveNames(names)) {
    const mod = await load(name)
    const st = typeof mod.status === 'function' ? await mod.status() : { running: undefined }
    const dir = path.join(STATE, name)
    out[name] = { ...st, leases: fs.existsSync(dir) ? leases(dir) : [] }
  }
  return out
}

// ---- CLI ----

const USAGE = `usage: node scripts/servers.mjs fetch|start|stop|status [all|${listServers().join('|') || 'NAME'}] ...
  fetch   download the servers' jars from Maven Central (skipped when lib/ is complete)
  start   start them detached and print "export VAR=value" lines for the shell:
            eval "$(node scripts/servers.mjs start kafka)"
  stop    stop them (even when a test run is using them) and remove their data
  status  show whether each is running`

async function main(argv) {
  const [cmd, ...rest] = argv
  if (!cmd || cmd === '-h' || cmd === '--help') {
    process.stdout.write(USAGE + '\n')
    return cmd ? 0 : 2
  }
  const names = resolveNames(rest.length ? rest : 'all')
  switch (cmd) {
    case 'fetch':
      await fetchServers(names)
      return 0
    case 'start': {
      const { env } = await startServers(names, { lease: 'manual' })
      for (const [k, v] of Object.entries(env)) process.stdout.write(`export ${k}=${v}\n`)
      return 0
    }
    case 'stop':
      await stopServers(names, { force: true })
      return 0
    case 'status': {
      const st = await statusServers(names)
      for (const [name, s] of Object.entries(st)) {
        const state = s.running === undefined ? 'unknown (module has no status())' : s.running ? `running (pid ${s.pid ?? '?'})` : 'stopped'
        const env = Object.entries(s.env ?? {})
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')
        process.stdout.write(`${name}: ${state}${env ? `  ${env}` : ''}${s.leases.length ? `  used by: ${s.leases.join(', ')}` : ''}\n`)
      }
      return 0
    }
    default:
      process.stderr.write(`servers: unknown command "${cmd}"\n${USAGE}\n`)
      return 2
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code
    },
    (e) => {
      say(`error: ${e.message}`)
      process.exitCode = 1
    },
  )
}
