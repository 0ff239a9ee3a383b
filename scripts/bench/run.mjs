// npm run bench [-- --only codec,tail] [--skip rsyslog] [--size 200M] [--markdown FILE] [--json FILE]
// Times whole tsf commands on a generated access log and reports, per process, wall time, CPU
// seconds and peak RSS, and per workload MiB/s and events/s, with a correctness check each.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { ensureAccessLog, ensureEvents } from './data.mjs'
import { haveGnuTime, live } from './pipeline.mjs'
import { comparisons, markdownReport, status, textReport } from './report.mjs'
import { ROOT } from './tsf.mjs'
import { GiB, parseDuration, parseSize, sizeLabel } from './units.mjs'
import { workloads } from './workloads/index.mjs'

const usage = `usage: npm run bench -- [options]
  --only a,b        run only these workloads (${workloads.map((w) => w.name).join(', ')})
  --skip a,b        run all but these
  --size SIZE       size of the generated access log (default 1G; 200M for a quick run)
  --data-dir DIR    where generated inputs are kept and reused (default ./bench-data)
  --timeout DUR     longest any one workload may run (default 30m)
  --markdown FILE   also write the results as Markdown (for BENCHMARKS.md)
  --json FILE       also write the raw results as JSON
  --keep            keep each workload's scratch directory (outputs, stderr of every stage)
  --list            list the workloads and whether their commands are built`

const fail = (msg) => {
  process.stderr.write(`bench: ${msg}\n${usage}\n`)
  process.exit(2)
}

let opts
try {
  opts = parseArgs({
    options: {
      only: { type: 'string' },
      skip: { type: 'string' },
      size: { type: 'string', default: '1G' },
      'data-dir': { type: 'string', default: join(ROOT, 'bench-data') },
      timeout: { type: 'string', default: '30m' },
      markdown: { type: 'string' },
      json: { type: 'string' },
      keep: { type: 'boolean' },
      list: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  }).values
} catch (e) {
  fail(e.message)
}
if (opts.help) {
  process.stdout.write(usage + '\n')
  process.exit(0)
}
const names = new Set(workloads.map((w) => w.name))
const listOf = (s) =>
  s
    ? s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean)
    : []
for (const n of [...listOf(opts.only), ...listOf(opts.skip)]) if (!names.has(n)) fail(`no workload named '${n}'`)
let size
let timeoutMs
try {
  size = parseSize(opts.size)
  timeoutMs = parseDuration(opts.timeout)
} catch (e) {
  fail(e.message)
}

const say = (s) => process.stderr.write(`bench: ${s}\n`)
const selected = workloads.filter((w) => (!opts.only || listOf(opts.only).includes(w.name)) && !listOf(opts.skip).includes(w.name))

if (opts.list) {
  for (const w of workloads) process.stdout.write(`${w.name.padEnd(16)} ${w.needs() ? `skipped: ${w.needs()}` : 'ready'}  ${w.title}\n`)
  process.exit(0)
}

const machine = () => {
  let model = cpus()[0]?.model ?? 'unknown'
  try {
    model = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? model
  } catch {
    /* not Linux */
  }
  // the tree is shared and changes under us: say which commit (and whether src had local edits)
  let commit = 'unknown'
  try {
    commit = execFileSync('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'], { encoding: 'utf8' }).trim()
    if (execFileSync('git', ['-C', ROOT, 'status', '--porcelain', '--', 'src'], { encoding: 'utf8' }).trim())
      commit += ' + uncommitted changes in src/'
  } catch {
    /* not a git checkout */
  }
  return {
    nproc: cpus().length,
    cpu: model,
    memGiB: +(totalmem() / GiB).toFixed(1),
    node: process.version,
    date: new Date().toISOString(),
    commit,
  }
}

const m = machine()
say(`${m.date}; ${m.nproc} CPUs (${m.cpu}), ${m.memGiB} GiB; node ${m.node}; input ${sizeLabel(size)}`)
if (haveGnuTime()) say('BENCH_GNU_TIME: every stage runs under /usr/bin/time (a wrapper that holds its pipes)')

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    say(`${sig}: stopping ${live.size} running pipeline(s)`)
    for (const p of live) p.kill()
    process.exit(130)
  })
}

const log = await ensureAccessLog(opts['data-dir'], size, say)
say(`input ${log.path}: ${log.lines} lines, ${log.bytes} bytes`)
let eventsFile
const events = async () => (eventsFile ??= await ensureEvents(opts['data-dir'], log, say))

const scratch = mkdtempSync(join(opts['data-dir'], 'run-'))
const results = []
for (const w of selected) {
  const why = w.needs()
  const result = { name: w.name, title: w.title }
  if (why) {
    result.skipped = why
  } else {
    const work = join(scratch, w.name)
    mkdirSync(work, { recursive: true })
    say(`${w.name}: running ...`)
    try {
      Object.assign(result, await w.run({ work, log, events, timeoutMs, say, size }))
    } catch (e) {
      result.error = e.message.split('\n')[0]
    }
    if (!opts.keep && !result.problem && !result.error) rmSync(work, { recursive: true, force: true })
  }
  // whatever a failed workload left running must not load the next one
  for (const p of live) p.kill()
  results.push(result)
  process.stdout.write(textReport(result) + '\n\n')
}
if (!opts.keep && results.every((r) => !r.problem && !r.error)) rmSync(scratch, { recursive: true, force: true })
else say(`scratch kept in ${scratch} (stderr of every stage, outputs)`)

const ratios = comparisons(results)
if (ratios.length) process.stdout.write(`same-run comparisons:\n${ratios.map((r) => `  ${r}`).join('\n')}\n`)
const header = `Run ${m.date} at commit ${m.commit} on ${m.nproc} CPUs (${m.cpu}), ${m.memGiB} GiB RAM, node ${m.node}; input ${log.path.replace(ROOT, './')} (${log.lines} lines, ${log.bytes} bytes); command: npm run bench -- ${process.argv.slice(2).join(' ')}\n\n`
// paths in the commands read relative to the repo, scratch paths as $RUN
const shorten = (text) => text.replaceAll(scratch, '$RUN').replaceAll(ROOT, '')
if (opts.markdown)
  writeFileSync(
    opts.markdown,
    header + (ratios.length ? ratios.map((r) => `- ${r}`).join('\n') + '\n\n' : '') + shorten(markdownReport(results)),
  )
if (opts.json) writeFileSync(opts.json, JSON.stringify({ machine: m, input: log, results }, null, 2) + '\n')
const bad = results.filter((r) => r.problem || r.error)
if (bad.length) say(`${bad.length} workload(s) wrong or failed: ${bad.map((r) => `${r.name} (${status(r)})`).join('; ')}`)
process.exitCode = bad.length ? 1 : 0
