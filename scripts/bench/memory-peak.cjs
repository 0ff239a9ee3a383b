// Preloaded with NODE_OPTIONS=--require next to the bench: what a node process's RSS is made of at
// its peak. Samples process.memoryUsage() every 20 ms and, at exit, writes the sample of the highest
// RSS (heap total and used, external, arrayBuffers, each V8 space's size, MiB) as one JSON line to
// $MEMPROF_DIR/<role>-<pid>.json.
const { writeFileSync } = require('node:fs')
const v8 = require('node:v8')
const dir = process.env.MEMPROF_DIR
if (dir) {
  let peak
  const sample = () => {
    const m = process.memoryUsage()
    if (peak && m.rss <= peak.rss) return
    const spaces = {}
    for (const s of v8.getHeapSpaceStatistics()) spaces[s.space_name] = +(s.space_size / 1048576).toFixed(1)
    peak = { ...m, spaces }
  }
  setInterval(sample, 20).unref()
  process.on('exit', () => {
    sample()
    const mb = (x) => +(x / 1048576).toFixed(1)
    const role = process.argv[2] ?? 'node'
    const r = process.resourceUsage()
    const atPeak = {
      rss: mb(peak.rss),
      heapTotal: mb(peak.heapTotal),
      heapUsed: mb(peak.heapUsed),
      external: mb(peak.external),
      arrayBuffers: mb(peak.arrayBuffers),
    }
    const cpu = (r.userCPUTime + r.systemCPUTime) / 1e6
    writeFileSync(
      `${dir}/${role}-${process.pid}.json`,
      `${JSON.stringify({ role, cpu, maxRss: mb(r.maxRSS * 1024), atPeak, spaces: peak.spaces })}\n`,
    )
  })
}
