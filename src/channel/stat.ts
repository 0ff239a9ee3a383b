import { closeSync, existsSync, openSync, readdirSync, statfsSync } from 'node:fs'
import { TsfError } from '../core/errors.js'
import { ExitCode } from '../core/exit-codes.js'
import { formatBytes } from '../core/units.js'
import { dirLockHolder } from '../core/dir-lock.js'
import { listReaders, readOffset, type Offset } from './offsets.js'
import { HEADER } from './record.js'
import { readAt } from '../core/read-at.js'
import { endIndex } from './recovery.js'
import { listSegments, quarantineDir, segmentPath, segmentSize } from './segments.js'

// `tsf channel --dir DIR --stat`: the state of a channel dir, read without taking any lock and
// without touching it (safe next to a running channel). Reads the headers of the active segment
// only, so it is quick whatever the backlog.

// The time a record was stored, at an offset; undefined at the end of the log.
const timeAt = (dir: string, offset: Offset, bases: number[]): number | undefined => {
  let base = bases.includes(offset.segment) ? offset.segment : bases.find((b) => b >= offset.index)
  let pos = base === offset.segment ? offset.pos : 0
  while (base !== undefined) {
    try {
      const fd = openSync(segmentPath(dir, base), 'r')
      try {
        const head = readAt(fd, pos, HEADER)
        if (head.length === HEADER) return head.readUIntLE(14, 6)
      } finally {
        closeSync(fd)
      }
    } catch {
      // deleted meanwhile
    }
    base = bases.find((b) => b > base!)
    pos = 0
  }
  return undefined
}

export const lagBytes = (dir: string, offset: Offset, bases: number[]): number => {
  let total = 0
  for (const b of bases) {
    if (b < offset.segment) continue
    total += segmentSize(dir, b) - (b === offset.segment ? Math.min(offset.pos, segmentSize(dir, b)) : 0)
  }
  return total
}

// The state of a channel dir as one document: what `--stat --json` prints (a stable shape:
// fields are only ever added) and what the text form shows.
export interface ChannelStat {
  version: 1
  dir: string
  writer: { running: boolean; pid: number | null }
  segments: { count: number; bytes: number; firstIndex: number; nextIndex: number }
  // not yet taken by the slowest reader (everything stored when no reader registered yet)
  backlog: { events: number; bytes: number; oldestAgeMs: number | null }
  disk: { usedBytes: number; freeBytes: number }
  quarantine: { files: number; dir: string }
  readers: ReaderStat[]
}

export interface ReaderStat {
  name: string
  running: boolean
  pid: number | null
  backlog: { events: number; bytes: number; oldestAgeMs: number | null }
  offset: Offset | null // null: none readable (the reader starts from the oldest record)
  offsetProblem: string | null // why the offset file cannot be used, if it cannot
}

const ageMs = (time: number | undefined): number | null => (time === undefined ? null : Math.max(0, Date.now() - time))

export const channelStat = async (dir: string): Promise<ChannelStat> => {
  if (!existsSync(dir)) throw new TsfError(`--dir ${dir}: no such directory`)
  const bases = listSegments(dir)
  const next = bases.length ? endIndex(dir, bases.at(-1)!) : 0
  const oldest = bases[0] ?? 0
  const bytes = bases.reduce((sum, b) => sum + segmentSize(dir, b), 0)
  const fs = statfsSync(dir)
  const writer = await dirLockHolder(dir, { kind: 'channel', role: 'writer' })
  let quarantined = 0
  try {
    quarantined = readdirSync(quarantineDir(dir)).length
  } catch {
    // none yet
  }
  const start = { index: oldest, segment: oldest, pos: 0 }
  const backlogOf = (at: Offset): ReaderStat['backlog'] => {
    const events = Math.max(0, next - Math.max(at.index, oldest))
    return { events, bytes: events ? lagBytes(dir, at, bases) : 0, oldestAgeMs: events ? ageMs(timeAt(dir, at, bases)) : null }
  }
  const readers: ReaderStat[] = []
  let slowest: Offset | undefined
  for (const name of listReaders(dir)) {
    const loaded = readOffset(dir, name)
    const at = loaded?.ok ? loaded.offset : start
    if (!slowest || at.index < slowest.index) slowest = at
    const holder = await dirLockHolder(dir, { kind: 'channel', role: `reader.${name}` })
    readers.push({
      name,
      running: holder !== undefined,
      pid: holder === undefined ? null : Number(holder),
      backlog: backlogOf(at),
      offset: loaded?.ok ? loaded.offset : null,
      offsetProblem: loaded && !loaded.ok ? loaded.why : null,
    })
  }
  return {
    version: 1,
    dir,
    writer: { running: writer !== undefined, pid: writer === undefined ? null : Number(writer) },
    segments: { count: bases.length, bytes, firstIndex: oldest, nextIndex: next },
    backlog: backlogOf(slowest ?? start),
    disk: { usedBytes: bytes, freeBytes: fs.bavail * fs.bsize },
    quarantine: { files: quarantined, dir: quarantineDir(dir) },
    readers,
  }
}

const age = (ms: number | null): string => {
  if (ms === null) return '-'
  const s = ms / 1000
  return `${s < 120 ? `${s.toFixed(1)}s` : s < 7200 ? `${(s / 60).toFixed(1)}m` : `${(s / 3600).toFixed(1)}h`} ago`
}

export const printStat = async (dir: string, json = false): Promise<number> => {
  const st = await channelStat(dir)
  if (json) {
    process.stdout.write(JSON.stringify(st, null, 2) + '\n')
    return ExitCode.ok
  }
  const lines: [string, string][] = []
  lines.push(['dir', dir])
  lines.push(['writer', st.writer.running ? `running (pid ${st.writer.pid})` : 'not running'])
  lines.push(['segments', `${st.segments.count}, ${formatBytes(st.segments.bytes)}`])
  lines.push([
    'stored',
    `${st.segments.nextIndex - st.segments.firstIndex} events (index ${st.segments.firstIndex} to ${st.segments.nextIndex})`,
  ])
  lines.push([
    'depth',
    `${st.backlog.events} events, ${formatBytes(st.backlog.bytes)} ${st.readers.length ? 'not yet taken by the slowest reader' : '(no reader registered yet)'}`,
  ])
  lines.push(['oldest', age(st.backlog.oldestAgeMs)])
  lines.push(['free', formatBytes(st.disk.freeBytes)])
  lines.push(['quarantine', `${st.quarantine.files} file(s)${st.quarantine.files ? ` in ${st.quarantine.dir}` : ''}`])
  for (const r of st.readers) {
    lines.push([
      `reader ${r.name}`,
      `lag ${r.backlog.events} events, ${formatBytes(r.backlog.bytes)}; oldest unread ${age(r.backlog.oldestAgeMs)}; ${r.running ? `running (pid ${r.pid})` : 'not running'}${r.offsetProblem ? `; offset file ${r.offsetProblem}: starts from the oldest record` : ''}`,
    ])
  }
  const width = Math.max(...lines.map(([k]) => k.length))
  process.stdout.write(lines.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n')
  return ExitCode.ok
}
