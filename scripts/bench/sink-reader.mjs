// A tsf reader over the real ack link that acks at once and keeps only numbers: when the first
// event came, how many came, and (with --latency) how late each "lat <ns>" body arrived, against
// CLOCK_MONOTONIC (process.hrtime), which every process on the machine shares.
// usage: node sink-reader.mjs STATS.json [--expect N] [--latency]
// Writes STATS.json.first at the first event, STATS.json when N events came (or at EOF).
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'

const root = new URL('../../', import.meta.url).pathname
const { runCommand } = await import(pathToFileURL(join(root, 'dist/core/runtime.js')).href)

const [statsPath, ...rest] = process.argv.slice(2)
const expect = rest.includes('--expect') ? Number(rest[rest.indexOf('--expect') + 1]) : Infinity
const measureLatency = rest.includes('--latency')

let count = 0
let first
let written = false
const latencies = []
const marker = Buffer.from('"body":"lat ')

const percentile = (sorted, p) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] : undefined)

const writeStats = () => {
  if (written) return
  written = true
  const sorted = Float64Array.from(latencies).sort()
  const ms = (ns) => (ns === undefined ? undefined : ns / 1e6)
  writeFileSync(
    statsPath,
    JSON.stringify({
      count,
      first: first?.toString(),
      last: process.hrtime.bigint().toString(),
      latency: measureLatency
        ? {
            samples: sorted.length,
            p50ms: ms(percentile(sorted, 50)),
            p90ms: ms(percentile(sorted, 90)),
            p99ms: ms(percentile(sorted, 99)),
            maxms: ms(sorted[sorted.length - 1]),
          }
        : undefined,
    }) + '\n',
  )
}

const code = await runCommand({ component: 'bench-reader', shutdownTimeout: 5000 }, async (rt) => {
  const input = rt.input({ maxLine: 1024 * 1024 })
  for await (const batch of input.batches()) {
    const now = process.hrtime.bigint()
    if (first === undefined) {
      first = now
      writeFileSync(statsPath + '.first', first.toString())
    }
    if (measureLatency) {
      for (const h of batch.heads) {
        const buf = typeof h === 'string' ? Buffer.from(h) : h
        const at = buf.indexOf(marker)
        if (at === -1) continue // warm-up lines
        const end = buf.indexOf(0x20, at + marker.length)
        latencies.push(Number(now - BigInt(buf.toString('latin1', at + marker.length, end))))
      }
    }
    count += batch.heads.length
    input.done(batch)
    if (count >= expect) writeStats()
  }
  writeStats()
  return 0
})
process.exitCode = code
