// collect's JSON check alone (decodeBlock: the lines found and checked, heads as spans), for A/B of
// builds in one process: W1-shaped events (as collect-ab.mjs sends them) in 900 KiB batches from the
// first MiB of LOG; the builds alternate for 8 rounds; prints CPU-s per GiB of event bytes.
// usage: node scripts/bench/check-ab.mjs LOG MiB ROOT...   (ROOT: a directory holding dist/)
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import { w1Batches } from './w1-batches.mjs'
const [log, mib, ...roots] = process.argv.slice(2)
const text = readFileSync(log, 'latin1').slice(0, Number(mib) * 2 ** 20)
const batches = w1Batches(text).map((b) => b.payload)
const bytes = batches.reduce((a, b) => a + b.length, 0)
const mods = await Promise.all(roots.map((r) => import(pathToFileURL(resolve(r, 'dist/core/wire/batch.js')).href)))
const res = roots.map(() => [])
for (let round = 0; round < 8; round++) {
  for (let k = 0; k < roots.length; k++) {
    const t0 = process.cpuUsage()
    let n = 0
    for (const b of batches) {
      const h = mods[k].decodeBlock(b, { maxEvent: 1 << 20 })
      n += h.length
      h.release()
    }
    const u = process.cpuUsage(t0)
    res[k].push((u.user + u.system) / 1e6 / (bytes / 2 ** 30))
  }
}
for (let k = 0; k < roots.length; k++) {
  const s = [...res[k]].sort((a, b) => a - b)
  console.log(roots[k], s.map((x) => x.toFixed(2)).join(' '), 'median', ((s[3] + s[4]) / 2).toFixed(2))
}
