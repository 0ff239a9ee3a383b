// Preloaded with NODE_OPTIONS=--require: writes this process's own CPU time and peak RSS as one JSON
// line to $TSF_RUSAGE_DIR/<pid>.json when it exits, so a bench needs no wrapper process holding its
// pipes (a wrapper makes tsf see a second writer on its pipe).
const { writeFileSync } = require('node:fs')
const dir = process.env.TSF_RUSAGE_DIR
if (dir) {
  process.on('exit', () => {
    const r = process.resourceUsage()
    const role = process.argv[2] ?? 'node'
    writeFileSync(
      `${dir}/${role}-${process.pid}.json`,
      JSON.stringify({ role, cpu: (r.userCPUTime + r.systemCPUTime) / 1e6, maxRssMiB: r.maxRSS / 1024 }),
    )
  })
}
