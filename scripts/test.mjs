#!/usr/bin/env node
// `npm test`: build, start the real test servers, run tap against them, always stop them.
//
//   npm test                               every test, every server in scripts/servers/
//   npm test -- test/core/units.test.ts    extra arguments go to tap
//   TSF_TEST_SERVERS=none npm test         no servers (their tests skip, loudly; fail under CI=true)
//   TSF_TEST_SERVERS=kafka npm test        only Kafka (also: hdfs, all, or a list: kafka,hdfs)
//
// Under CI=true a missing java/mvn or a server that does not start fails the run.
// See docs/test-servers.md.
import { spawn, spawnSync } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { fetchServers, resolveNames, startServers, stopServers } from './servers.mjs'
import { tapFailures } from './tap-failures.mjs'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const CI = process.env.CI === 'true'
const args = process.argv.slice(2)

const say = (msg) => process.stderr.write(`test: ${msg}\n`)
const secs = (t0) => `${((Date.now() - t0) / 1000).toFixed(1)}s`

function loud(lines) {
  const bar = '!'.repeat(78)
  process.stderr.write(`\n${bar}\n${lines.map((l) => `!!! ${l}`).join('\n')}\n${bar}\n\n`)
}

function has(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'ignore' })
  return !r.error && r.status === 0
}

// ---- signals: never leave servers behind ----
let tap = null
let signalled = null
let started = []
function onSignal(sig) {
  if (signalled) {
    say(`second ${sig}: exiting now; servers may be left running (node scripts/servers.mjs stop)`)
    process.exit(130)
  }
  signalled = sig
  say(`${sig}: stopping${tap ? ' tap and' : ''} the test servers...`)
  if (tap && tap.exitCode === null) {
    killTap(sig)
    // tap gets 20s to end its test processes, then the whole group is killed.
    setTimeout(() => killTap('SIGKILL'), 20_000).unref()
  }
}
// tap runs in its own process group (so a test process cannot outlive an interrupted run): signal all of it.
function killTap(sig) {
  if (!tap?.pid) return
  try {
    process.kill(-tap.pid, sig)
  } catch {
    try {
      tap.kill(sig)
    } catch {
      /* gone */
    }
  }
}
process.on('SIGINT', onSignal)
process.on('SIGTERM', onSignal)
process.on('SIGHUP', onSignal)

async function main() {
  // 1. build
  let t0 = Date.now()
  say('building: npx tsc -p tsconfig.json')
  const tsc = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: ROOT, stdio: 'inherit' })
  if (tsc.error || tsc.status !== 0) {
    say(`build failed (${tsc.error?.message ?? `exit ${tsc.status}`})`)
    return 1
  }
  say(`built in ${secs(t0)}`)
  if (signalled) return 130

  // 1b. one code style (biome.json): a check, never a rewrite; the whole suite only, so that a
  // file run alone is not held up by a stray space
  if (!args.some((a) => a.endsWith('.ts'))) {
    const fmt = spawnSync('npx', ['biome', 'format', '.'], { cwd: ROOT, stdio: 'inherit' })
    if (fmt.error || fmt.status !== 0) {
      say('format check failed: run `npx biome format --write .` and commit the result')
      return 1
    }
  }

  // 2. which servers
  let names
  try {
    names = resolveNames(process.env.TSF_TEST_SERVERS || 'all')
  } catch (e) {
    say(`TSF_TEST_SERVERS: ${e.message}`)
    return 2
  }
  const java = process.env.JAVA_HOME ? path.join(process.env.JAVA_HOME, 'bin', 'java') : 'java'
  const javaOk = has(java, ['-version'])
  const mvnOk = has('mvn', ['-v'])
  if (names.length && !(javaOk && mvnOk)) {
    loud([
      `java and/or mvn are missing (java: ${javaOk ? 'ok' : 'MISSING'}, mvn: ${mvnOk ? 'ok' : 'MISSING'}).`,
      `The real test servers (${names.join(', ')}) cannot run without them, so every test that`,
      'needs Kafka, HDFS or MongoDB will be SKIPPED. Install OpenJDK 17 and Maven (apt-get install -y',
      'openjdk-17-jdk-headless maven) to run them, or see docs/test-servers.md.',
      ...(CI ? ['CI=true: this is an error.'] : []),
    ])
    if (CI) return 1
    names = []
  }

  // 3. fetch (one after the other) and start (in parallel)
  let serverEnv = {}
  if (names.length) {
    t0 = Date.now()
    try {
      await fetchServers(names)
    } catch (e) {
      loud([
        `fetching the test servers failed: ${e.message}`,
        'Their tests will be SKIPPED.',
        ...(CI ? ['CI=true: this is an error.'] : []),
      ])
      if (CI) return 1
      names = []
    }
  }
  if (names.length && !signalled) {
    t0 = Date.now()
    say(`starting test servers: ${names.join(', ')}`)
    const res = await startServers(names, { keepGoing: true })
    started = res.started
    serverEnv = res.env
    if (res.failed.length) {
      loud([
        ...res.failed.flatMap((f) => `${f.name} did not start: ${f.error?.message ?? f.error}`.split('\n')),
        `Tests that need ${res.failed.map((f) => f.name).join(', ')} will be SKIPPED.`,
        ...(CI ? ['CI=true: this is an error.'] : []),
      ])
      if (CI) return 1
    }
    if (started.length)
      say(
        `servers up in ${secs(t0)}: ${Object.entries(serverEnv)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')}`,
      )
  } else if (!names.length) {
    say('no test servers (TSF_TEST_SERVERS=none or unavailable): tests that need them skip themselves')
  }
  if (signalled) return 130

  // 4. tap
  const env = { ...process.env, KAFKAJS_NO_PARTITIONER_WARNING: '1', ...serverEnv }
  t0 = Date.now()
  // Into a log (CI) the TAP stream also passes through a collector, so that the failures are named
  // again at the very end, after the coverage table. A terminal keeps tap's own reporter.
  const failures = process.stdout.isTTY ? null : tapFailures()
  const code = await new Promise((resolve) => {
    // Own process group: Ctrl-C reaches only this script, which forwards it to the whole group.
    const stdio = ['inherit', failures ? 'pipe' : 'inherit', 'inherit']
    tap = spawn('npx', ['tap', ...args], { cwd: ROOT, env, stdio, detached: true })
    tap.stdout?.on('data', (chunk) => {
      process.stdout.write(chunk)
      failures.write(chunk)
    })
    tap.on('error', (e) => {
      say(`cannot run tap: ${e.message}`)
      resolve(1)
    })
    tap.on('exit', (c, sig) => resolve(c ?? 128 + (sig === 'SIGINT' ? 2 : sig === 'SIGTERM' ? 15 : 9)))
  })
  killTap('SIGKILL') // whatever a test left behind in tap's group
  if (tap.stdout && !tap.stdout.readableEnded)
    await new Promise((resolve) => {
      tap.stdout.once('end', resolve)
      setTimeout(resolve, 5000).unref()
    })
  const failed = failures?.report() ?? []
  if (failed.length) say(`${failed.length} failed:\n${failed.join('\n')}`)
  say(`tap exited ${code} after ${secs(t0)}`)
  return code
}

let code = 1
try {
  code = await main()
} catch (e) {
  say(`error: ${e.stack ?? e}`)
  code = 1
} finally {
  if (started.length) {
    const t0 = Date.now()
    try {
      await stopServers(started)
      say(`servers released in ${secs(t0)}`)
    } catch (e) {
      say(`stopping servers failed: ${e.message}`)
      if (code === 0) code = 1
    }
  }
}
process.exit(signalled && code === 0 ? 130 : code)
