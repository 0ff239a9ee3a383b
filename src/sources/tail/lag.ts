import { fstatSync } from 'node:fs'
import { info } from '../../core/log.js'
import { mib, Progress, Rate } from '../../core/progress.js'
import type { FileTail } from './file-tail.js'

// the progress line shows when tail is at least this far behind
const PROGRESS_MIN_LAG = 1024 * 1024

// a type, not an interface: a metrics table takes it as a record
export type LagRow = { file: string; SizeBytes: number; AckedBytes: number; LagBytes: number }

// How far behind tail is, per file: the bytes past the acked checkpoint (one fstat per file).
export const lagRows = (tails: Iterable<FileTail>): LagRow[] => {
  const rows = []
  for (const t of tails) {
    let size = t.entry.pos
    try {
      if (!t.closed) size = fstatSync(t.fd).size
    } catch {
      // closed meanwhile: nothing left to read from it
    }
    rows.push({ file: t.path, SizeBytes: size, AckedBytes: t.entry.pos, LagBytes: Math.max(0, size - t.entry.pos) })
  }
  return rows
}

// On a terminal, a progress line while tail is more than a MiB behind (catching up after a start
// or an outage downstream); the catch-up after the start ends with one summary line. Returns the
// stop, which says the summary if not said yet.
export const showProgress = (tails: Set<FileTail>, ackedBytes: () => number): (() => void) => {
  const rate = new Rate()
  const lagNow = (): number => lagRows(tails).reduce((sum, r) => sum + r.LagBytes, 0)
  const progress = new Progress('tsf tail', () => {
    const rows = lagRows(tails).filter((r) => r.LagBytes > 0)
    const lag = rows.reduce((sum, r) => sum + r.LagBytes, 0)
    const perSecond = rate.perSecond(ackedBytes())
    return lag >= PROGRESS_MIN_LAG
      ? `catching up: ${mib(lag)} MiB behind in ${rows.length} file${rows.length === 1 ? '' : 's'}, ${mib(perSecond)} MiB/s`
      : undefined
  })
  progress.start()
  let caughtUp = false
  const summary = (): void => {
    if (caughtUp) return
    caughtUp = true
    const acked = ackedBytes()
    if (acked > 0 && progress.worthSaying(acked))
      info(`caught up: ${mib(acked)} MiB from ${tails.size} file${tails.size === 1 ? '' : 's'} in ${progress.elapsed.toFixed(1)} s`)
  }
  const check = setInterval(() => {
    if (lagNow() === 0) summary()
  }, 1000)
  check.unref()
  return () => {
    clearInterval(check)
    progress.stop()
    summary()
  }
}
