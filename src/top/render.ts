import { Chalk } from 'chalk'
import type { AgentRow, CollectorRow, Fleet } from './fleet.js'

export interface RenderOptions {
  colour: boolean
  width: number
  sort: string
  filter?: string
  shown: AgentRow[]
}

// Figures as a person reads them: 1.2k, 3.4M; bytes in KiB/MiB/GiB; seconds as 3s, 2m, 1h.
export const human = (n: number): string => {
  if (n < 1000) return n < 10 && n % 1 ? n.toFixed(1) : String(Math.round(n))
  if (n < 1e6) return `${(n / 1e3).toFixed(n < 1e4 ? 1 : 0)}k`
  if (n < 1e9) return `${(n / 1e6).toFixed(n < 1e7 ? 1 : 0)}M`
  return `${(n / 1e9).toFixed(1)}G`
}

export const bytes = (n: number): string => {
  if (n < 1024) return `${n}B`
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(n < 10 * 1024 ? 1 : 0)}K`
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(n < 10 * 1024 ** 2 ? 1 : 0)}M`
  return `${(n / 1024 ** 3).toFixed(1)}G`
}

export const ago = (seconds: number): string => {
  if (seconds < 1) return 'now'
  if (seconds < 120) return `${Math.round(seconds)}s`
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`
  return `${Math.round(seconds / 3600)}h`
}

const mib = (n: number): string => (n === 0 ? '0' : n < 0.1 ? n.toFixed(2) : n.toFixed(1))
const opt = (v: number | undefined, f: (n: number) => string): string => (v === undefined ? '-' : f(v))

type Cell = { text: string; style?: 'bad' | 'warn' | 'dim' | 'good' }
const cell = (text: string, style?: Cell['style']): Cell => ({ text, style })

// Columns padded to their widest cell; the last column (free text) takes what is left.
const table = (header: string[], rows: Cell[][], right: Set<number>, width: number, c: InstanceType<typeof Chalk>): string[] => {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.text.length)))
  const last = header.length - 1
  const fixed = widths.slice(0, last).reduce((s, w) => s + w + 2, 0)
  widths[last] = Math.max(header[last]!.length, Math.min(widths[last]!, width - fixed))
  const fit = (text: string, i: number): string => {
    const w = widths[i]!
    const t = text.length > w ? `${text.slice(0, Math.max(0, w - 1))}…` : text
    return right.has(i) ? t.padStart(w) : t.padEnd(w)
  }
  const paint = (cellValue: Cell, i: number): string => {
    const t = fit(cellValue.text, i)
    if (cellValue.style === 'bad') return c.red(t)
    if (cellValue.style === 'warn') return c.yellow(t)
    if (cellValue.style === 'dim') return c.dim(t)
    if (cellValue.style === 'good') return c.green(t)
    return t
  }
  return [c.bold(header.map((h, i) => fit(h, i)).join('  ')).trimEnd(), ...rows.map((r) => r.map(paint).join('  ').trimEnd())]
}

const collectorRows = (rows: CollectorRow[]): Cell[][] =>
  rows.map((r) =>
    r.up
      ? [
          cell(r.name),
          cell('up', 'good'),
          cell(String(r.agents)),
          cell(human(r.eventsInPerSec)),
          cell(human(r.eventsOutPerSec)),
          cell(mib(r.mibInPerSec)),
          cell(mib(r.mibOutPerSec)),
          cell(human(r.pending), r.pending > 0 ? 'warn' : undefined),
          cell(human(r.connectionErrors), r.connectionErrors ? 'warn' : undefined),
          cell(''),
        ]
      : [
          cell(r.name),
          cell('DOWN', 'bad'),
          cell('-'),
          cell('-'),
          cell('-'),
          cell('-'),
          cell('-'),
          cell('-'),
          cell('-'),
          cell(r.error ?? '', 'bad'),
        ],
  )

const agentRows = (rows: AgentRow[]): Cell[][] =>
  rows.map((r) => [
    cell(r.agent, r.connected ? undefined : 'dim'),
    cell(r.collector),
    cell(r.connected ? 'up' : 'gone', r.connected ? 'good' : 'bad'),
    cell(human(r.eventsInPerSec)),
    cell(human(r.eventsOutPerSec)),
    cell(mib(r.mibOutPerSec)),
    cell(opt(r.pending, human), r.pending ? 'warn' : undefined),
    cell(opt(r.lagBytes, bytes), r.lagBytes ? 'warn' : undefined),
    cell(opt(r.backlog, human), r.backlog ? 'warn' : undefined),
    cell(opt(r.failovers, human), r.failovers ? 'warn' : undefined),
    cell(opt(r.errors, human), r.errors ? 'bad' : undefined),
    cell(ago(r.lastContactSeconds), r.lastContactSeconds > 30 ? 'bad' : r.lastContactSeconds > 10 ? 'warn' : undefined),
    cell(r.lastError ?? (r.reports ? '' : '(sends no reports: an older ship, or --report-interval 0)'), r.lastError ? 'bad' : 'dim'),
  ])

// The whole screen (or the --once text) as lines.
export const render = (fleet: Fleet, options: RenderOptions): string[] => {
  const c = new Chalk({ level: options.colour ? 1 : 0 })
  const up = fleet.collectors.filter((x) => x.up).length
  const connected = fleet.agents.filter((a) => a.connected).length
  const title =
    `tsf top  ${new Date(fleet.at).toISOString().slice(11, 19)}Z  ` +
    `collectors ${up}/${fleet.collectors.length} up  agents ${connected} connected` +
    (fleet.agents.length > connected ? `, ${fleet.agents.length - connected} gone` : '') +
    `  sort: ${options.sort}${options.filter ? `  filter: ${options.filter}` : ''}`
  const lines = [c.bold(title), '']
  lines.push(
    ...table(
      ['COLLECTOR', 'STATE', 'AGENTS', 'EV/S IN', 'EV/S OUT', 'MIB/S IN', 'MIB/S OUT', 'PENDING', 'CONN ERR', 'ERROR'],
      collectorRows(fleet.collectors),
      new Set([2, 3, 4, 5, 6, 7, 8]),
      options.width,
      c,
    ),
  )
  lines.push('')
  if (options.shown.length === 0) {
    lines.push(fleet.agents.length ? c.dim(`no agent matches the filter '${options.filter}'`) : c.dim('no agents connected'))
  } else {
    lines.push(
      ...table(
        [
          'AGENT',
          'VIA',
          'STATE',
          'EV/S IN',
          'EV/S OUT',
          'MIB/S OUT',
          'PENDING',
          'TAIL LAG',
          'BACKLOG',
          'FAILOVERS',
          'ERRORS',
          'CONTACT',
          'LAST ERROR',
        ],
        agentRows(options.shown),
        new Set([3, 4, 5, 6, 7, 8, 9, 10, 11]),
        options.width,
        c,
      ),
    )
  }
  return lines
}
