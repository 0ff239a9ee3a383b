// Shared by the server modules (a leading "_" keeps scripts/servers.mjs from taking it for a
// server): fetch a server's jars from Maven Central once per pom.xml version.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'

const pomHash = (dir) =>
  createHash('sha256')
    .update(fs.readFileSync(path.join(dir, 'pom.xml')))
    .digest('hex')

/**
 * Download the jars of `dir/pom.xml` into `lib`, unless lib/.fetched says it already holds them.
 * `check(lib)` returns what is missing after a successful mvn run (or nothing).
 */
export function fetchJars(name, dir, lib, check) {
  if (jarsFetched(dir, lib)) return
  const stamp = path.join(lib, '.fetched')
  fs.rmSync(lib, { recursive: true, force: true })
  process.stderr.write(`servers: ${name}: fetching jars from Maven Central (mvn dependency:copy-dependencies)...\n`)
  // -DoutputDirectory must be absolute: a relative one is resolved against the pom's directory.
  const r = spawnSync(
    'mvn',
    ['-q', '-B', '-Dstyle.color=never', '-f', path.join(dir, 'pom.xml'), 'dependency:copy-dependencies', `-DoutputDirectory=${lib}`],
    { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8', maxBuffer: 64 << 20 },
  )
  if (r.error) throw new Error(`${name}: cannot run mvn: ${r.error.message}`)
  // Debian's Maven 3.8 prints bare colour resets even with -B; show only real text.
  const said = `${r.stdout ?? ''}${r.stderr ?? ''}`.replace(/\x1b\[[0-9;]*m/g, '').trim()
  if (said) process.stderr.write(said + '\n')
  if (r.status !== 0) throw new Error(`${name}: mvn dependency:copy-dependencies failed (exit ${r.status})`)
  const missing = check(lib)
  if (missing) throw new Error(`${name}: mvn succeeded but ${lib} holds no ${missing}`)
  fs.writeFileSync(stamp, pomHash(dir) + '\n')
}

/** Whether lib/ holds the jars the current dir/pom.xml asks for. */
export function jarsFetched(dir, lib) {
  try {
    return fs.readFileSync(path.join(lib, '.fetched'), 'utf8').trim() === pomHash(dir)
  } catch {
    return false
  }
}
