// Results as a console report and as Markdown for BENCHMARKS.md: per workload MiB/s and events/s
// over the timed window, and per process wall, CPU seconds (and per GiB), peak RSS, exit.
import { GiB, MiB } from './units.mjs'

const num = (v, digits = 1) => (v === undefined || Number.isNaN(v) ? 'n/a' : v.toFixed(digits))
const rate = (v) => (v >= 1e6 ? `${(v / 1e6).toFixed(2)} M` : v >= 1e3 ? `${(v / 1e3).toFixed(0)} k` : v.toFixed(0))

export const status = (r) =>
  r.skipped ? `skipped: ${r.skipped}` : r.error ? `FAILED: ${r.error}` : r.problem ? `WRONG: ${r.problem}` : 'ok'

const summary = (r) => {
  if (r.skipped || r.error) return status(r)
  const parts = []
  if (r.noRate) return `check: ${status(r)}`
  if (r.bytes && r.wall) parts.push(`${num(r.bytes / MiB / r.wall)} MiB/s`)
  if (r.events && r.wall) parts.push(`${rate(r.events / r.wall)} events/s`)
  if (r.wall) parts.push(`${num(r.wall, 2)} s`)
  const cpu = (r.procs ?? []).reduce((s, p) => s + (p.cpu ?? 0), 0)
  if (cpu && r.bytes) parts.push(`${num(cpu, 1)} CPU-s (${num(cpu / (r.bytes / GiB), 1)} per GiB, all processes)`)
  parts.push(`check: ${status(r)}`)
  return parts.join(', ')
}

const procRows = (r) =>
  (r.procs ?? []).map((p) => [
    p.label,
    num(p.wall, 2),
    num(p.cpu, 2),
    r.bytes && p.cpu !== undefined ? num(p.cpu / (r.bytes / GiB), 1) : 'n/a',
    r.events && p.cpu !== undefined ? num((p.cpu * 1e6) / r.events, 2) : 'n/a',
    p.rssKiB === undefined ? 'n/a' : num(p.rssKiB / 1024, 0),
    p.exit === undefined ? (p.signal ? `sig ${p.signal}` : '?') : String(p.exit) + (p.signal ? ` sig ${p.signal}` : ''),
  ])
const PROC_HEAD = ['process', 'wall s', 'CPU s', 'CPU s/GiB', 'CPU µs/event', 'peak RSS MiB', 'exit']

const microRows = (r) => (r.micro ?? []).map((m) => [m.label, rate(m.eventsPerSec), num(m.mibPerSec), num(m.nsPerEvent, 0)])
const MICRO_HEAD = ['operation', 'events/s', 'MiB/s', 'CPU ns/event']

const textTable = (head, rows) => {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)))
  const line = (cells) => '    ' + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')
  return [line(head), ...rows.map(line)].join('\n')
}

export const textReport = (r) => {
  const out = [`${r.name}: ${r.title}`, `  ${summary(r)}`]
  if (r.micro) out.push(textTable(MICRO_HEAD, microRows(r)))
  if (r.procs?.length) out.push(textTable(PROC_HEAD, procRows(r)))
  if (r.extra) for (const [k, v] of Object.entries(r.extra)) out.push(`    ${k}: ${v}`)
  if (r.note) out.push(`    (${r.note})`)
  return out.join('\n')
}

const mdTable = (head, rows) =>
  [
    `| ${head.join(' | ')} |`,
    `|${head.map((_, i) => (i ? '---:' : '---')).join('|')}|`,
    ...rows.map((c) => `| ${c.map((x) => String(x).replace(/\|/g, '\\|')).join(' | ')} |`),
  ].join('\n')

export const markdownReport = (results) => {
  const out = []
  const timed = results.filter((r) => !r.skipped && !r.error && r.wall && (r.bytes || r.events) && !r.micro && !r.noRate)
  if (timed.length)
    out.push(
      mdTable(
        ['workload', 'MiB/s', 'events/s', 'wall s', 'CPU s (all)', 'CPU s/GiB', 'check'],
        timed.map((r) => {
          const cpu = (r.procs ?? []).reduce((s, p) => s + (p.cpu ?? 0), 0)
          return [
            r.title,
            r.bytes ? num(r.bytes / MiB / r.wall) : '—',
            rate(r.events / r.wall),
            num(r.wall, 2),
            num(cpu, 1),
            r.bytes ? num(cpu / (r.bytes / GiB), 1) : '—',
            status(r),
          ]
        }),
      ),
    )
  const rest = results.filter((r) => !timed.includes(r))
  if (rest.length)
    out.push(
      '',
      ...rest
        .filter((r) => !r.micro)
        .map(
          (r) =>
            `- ${r.title}: ${status(r)}${
              r.extra
                ? ' — ' +
                  Object.entries(r.extra)
                    .map(([k, v]) => `${k} ${v}`)
                    .join(', ')
                : ''
            }`,
        ),
    )
  for (const r of results) {
    if (r.skipped || r.error) continue
    out.push('', `### ${r.name}: ${r.title}`, '')
    if (r.micro) out.push(mdTable(MICRO_HEAD, microRows(r)), '')
    if (r.procs?.length) out.push(mdTable(PROC_HEAD, procRows(r)), '')
    if (r.extra) out.push(...Object.entries(r.extra).map(([k, v]) => `- ${k}: ${v}`), '')
    if (r.note) out.push(`(${r.note})`, '')
    if (r.command) out.push('```sh', r.command, '```')
  }
  return out.join('\n') + '\n'
}

// The ratios the targets are stated in (issues 2, 3, 9), from figures of the same run.
const RATIOS = [
  ['tail', 'baseline', 'tsf tail vs the naive Node baseline (target ≥ 2×, ≤ 1 µs CPU per line)'],
  ['chain', 'rsyslog', 'W1 tsf chain vs rsyslog (target ≥ 2×, ≤ 25 CPU-s per GiB)'],
  ['ship', 'rsyslog', 'tail | ship → collect vs rsyslog W1 (target ≥ 1.5× Fluent Bit, 48 MiB/s on the reference machines)'],
  ['chain-channel', 'chain', 'W1 with channels vs without (target ≥ 70%)'],
  ['syslog', 'rsyslog-syslog', 'W2 tsf vs rsyslog'],
  ['mongodb', 'mongodb-driver', "tsf ship mongodb:// vs the driver's own insertMany of the same documents"],
]

export const comparisons = (results) => {
  const by = new Map(results.filter((r) => !r.skipped && !r.error && !r.problem && r.wall && r.bytes).map((r) => [r.name, r]))
  const cpuPerGiB = (r) => (r.procs ?? []).reduce((s, p) => s + (p.cpu ?? 0), 0) / (r.bytes / GiB)
  const lat = (name) => results.find((r) => r.name === name && !r.problem && !r.error && r.extra)?.extra
  const latency =
    lat('latency') && lat('rsyslog-latency')
      ? [
          `latency append → collector output at 5,000 lines/s (target p50 < 2 ms, p99 < 10 ms): tsf p50 ${lat('latency').p50}, p99 ${lat('latency').p99}; rsyslog p50 ${lat('rsyslog-latency').p50}, p99 ${lat('rsyslog-latency').p99}`,
        ]
      : []
  return latency.concat(
    RATIOS.filter(([a, b]) => by.has(a) && by.has(b)).map(([a, b, what]) => {
      const ra = by.get(a)
      const rb = by.get(b)
      const speed = ra.bytes / ra.wall / (rb.bytes / rb.wall)
      return `${what}: ${speed.toFixed(2)}× the throughput (${num(ra.bytes / MiB / ra.wall)} vs ${num(rb.bytes / MiB / rb.wall)} MiB/s), ${num(cpuPerGiB(ra))} vs ${num(cpuPerGiB(rb))} CPU-s per GiB`
    }),
  )
}
