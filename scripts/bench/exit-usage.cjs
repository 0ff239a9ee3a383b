// Loaded into every node process of a bench pipeline (NODE_OPTIONS=--require ...): at exit the
// process writes its own CPU seconds and peak RSS, from the kernel's getrusage, to
// $TSF_BENCH_USAGE_DIR/usage.<pid>.json. The bench so measures each stage exactly without a
// wrapper process (GNU time) that would hold the stage's pipes and change what tsf sees.
const { writeFileSync } = require('node:fs')

const dir = process.env.TSF_BENCH_USAGE_DIR
if (dir) {
  process.on('exit', (code) => {
    const u = process.resourceUsage()
    const row = { pid: process.pid, user: u.userCPUTime / 1e6, sys: u.systemCPUTime / 1e6, rssKiB: u.maxRSS, exit: code }
    try {
      writeFileSync(`${dir}/usage.${process.pid}.json`, JSON.stringify(row))
    } catch {
      // the scratch directory is gone: the bench falls back to its /proc samples
    }
  })
}
