import { closeSync, existsSync, openSync, readdirSync, statfsSync } from 'node:fs'
import { TsfError } from '../core/errors.js'
import { formatBytes } from '../core/units.js'
import { lockHolder } from './lock.js'
import { allOffsets, type Offset } from './offsets.js'
import { HEADER } from './record.js'
import { endIndex, readAt } from './recovery.js'
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

const lagBytes = (dir: string, offset: Offset, bases: number[]): number => {
  let total = 0
  for (const b of bases) {
    if (b < offset.segment) continue
    total += segmentSize(dir, b) - (b === offset.segment ? Math.min(offset.pos, segmentSize(dir, b)) : 0)
  }
  return total
}

const age = (time: number | undefined): string => {
  if (time === undefined) return '-'
  const s = Math.max(0, (Date.now() - time) / 1000)
  return s < 120 ? `${s.toFixed(1)}s` : s < 7200 ? `${(s / 60).toFixed(1)}m` : `${(s / 3600).toFixed(1)}h`
}

export const printStat = async (dir: string): Promise<number> => {
  if (!existsSync(dir)) throw new TsfError(`--dir ${dir}: no such directory`)
  const bases = listSegments(dir)
  const next = bases.length ? endIndex(dir, bases.at(-1)!) : 0
  const oldest = bases[0] ?? 0
  const bytes = bases.reduce((sum, b) => sum + segmentSize(dir, b), 0)
  const offsets = allOffsets(dir)
  const fs = statfsSync(dir)
  const writer = await lockHolder(dir, 'writer')
  const lines: [string, string][] = []
  lines.push(['dir', dir])
  lines.push(['writer', writer ? `running (pid ${writer})` : 'not running'])
  lines.push(['segments', `${bases.length}, ${formatBytes(bytes)}`])
  lines.push(['stored', `${next - oldest} events (index ${oldest} to ${next})`])
  let slowest: Offset | undefined
  for (const o of offsets.values()) {
    const at = o ?? { index: oldest, segment: oldest, pos: 0 }
    if (!slowest || at.index < slowest.index) slowest = at
  }
  if (slowest) {
    const depth = Math.max(0, next - Math.max(slowest.index, oldest))
    lines.push(['depth', `${depth} events, ${formatBytes(lagBytes(dir, slowest, bases))} not yet taken by the slowest reader`])
    lines.push(['oldest', depth ? `${age(timeAt(dir, slowest, bases))} ago` : '-'])
  } else {
    lines.push(['depth', `${next - oldest} events, ${formatBytes(bytes)} (no reader registered yet)`])
    lines.push(['oldest', next > oldest ? `${age(timeAt(dir, { index: oldest, segment: oldest, pos: 0 }, bases))} ago` : '-'])
  }
  lines.push(['free', formatBytes(fs.bavail * fs.bsize)])
  let quarantined = 0
  try {
    quarantined = readdirSync(quarantineDir(dir)).length
  } catch {
    // none yet
  }
  lines.push(['quarantine', `${quarantined} file(s)${quarantined ? ` in ${quarantineDir(dir)}` : ''}`])
  for (const [name, o] of offsets) {
    const at = o ?? { index: oldest, segment: oldest, pos: 0 }
    const lag = Math.max(0, next - Math.max(at.index, oldest))
    const holder = await lockHolder(dir, `reader.${name}`)
    lines.push([
      `reader ${name}`,
      `lag ${lag} events, ${formatBytes(lagBytes(dir, at, bases))}; oldest unread ${lag ? `${age(timeAt(dir, at, bases))} ago` : '-'}; ${holder ? `running (pid ${holder})` : 'not running'}`,
    ])
  }
  const width = Math.max(...lines.map(([k]) => k.length))
  process.stdout.write(lines.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n')
  return 0
}
