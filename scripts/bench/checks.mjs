// Cheap correctness checks, so a fast-but-wrong run is reported as wrong: line counts from the
// tools' own durable state (tail checkpoints, collector counters) and byte-for-byte output digests.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { digestFiles } from './data.mjs'

// events tail made durable downstream, and the byte offset reached, from its checkpoints
export const tailCheckpoint = (stateDir) => {
  const p = join(stateDir, 'checkpoints.json')
  if (!existsSync(p)) return { seq: 0, pos: 0 }
  const state = JSON.parse(readFileSync(p, 'utf8'))
  return state.files.reduce((a, f) => ({ seq: a.seq + f.seq, pos: a.pos + f.pos }), { seq: 0, pos: 0 })
}

export const expectTailRead = (stateDir, log) => {
  const c = tailCheckpoint(stateDir)
  if (c.seq === log.lines && c.pos === log.bytes) return undefined
  return `tail checkpoint at ${c.seq} events / ${c.pos} bytes, expected ${log.lines} / ${log.bytes}`
}

export const fetchCounters = async (url) => {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) })
  const json = await res.json()
  return Object.values(json)[0]
}

// The files tsf roll published (in-progress and state files start with a dot), in write order:
// events-<opened ms>-<n>.log sorts by its numbers.
export const rolledFiles = (dir) => {
  const key = (name) => (name.match(/\d+/g) ?? []).map(Number)
  const cmp = (a, b) => {
    const ka = key(a)
    const kb = key(b)
    for (let i = 0; i < Math.max(ka.length, kb.length); i++) if ((ka[i] ?? -1) !== (kb[i] ?? -1)) return (ka[i] ?? -1) - (kb[i] ?? -1)
    return 0
  }
  const walk = (d) =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) => {
      if (e.name.startsWith('.')) return []
      return e.isDirectory() ? walk(join(d, e.name)).map((n) => join(e.name, n)) : [e.name]
    })
  return existsSync(dir)
    ? walk(dir)
        .sort(cmp)
        .map((n) => join(dir, n))
    : []
}

// The output equals the input byte for byte (so: every line, once, in order)?
export const expectSameBytes = async (files, log, what) => {
  const got = await digestFiles(files)
  if (got.sha256 === log.sha256) return undefined
  return `${what}: ${got.lines} lines / ${got.bytes} bytes in ${files.length} files, expected ${log.lines} / ${log.bytes}${got.bytes === log.bytes ? ' (same size, different bytes: order or content)' : ''}`
}

// "what failed and why" for every stage that did not exit 0 (or was signalled), else undefined
export const expectClean = (procs, allowSignalled = []) => {
  const bad = procs.filter((p) => (p.exit !== undefined && p.exit !== 0) || (p.signal && !allowSignalled.includes(p.label)))
  if (!bad.length) return undefined
  return bad
    .map(
      (p) =>
        `${p.label} exit ${p.exit ?? '?'}${p.signal ? ` signal ${p.signal}` : ''}: ${p.stderr.trim().split('\n').slice(-2).join(' / ')}`,
    )
    .join('; ')
}
