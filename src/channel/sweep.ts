import { unlinkSync } from 'node:fs'
import { describeSystemError } from '../core/errors.js'
import { warnOnce } from '../core/log.js'
import type { LogWriter } from './log-writer.js'
import { allOffsets } from './offsets.js'
import { listSegments, segmentPath } from './segments.js'

// Segment deletion: sealed segments every registered reader has durably passed go away, looked
// for every 250 ms and whenever the writer needs room.
export class Sweeper {
  // the lowest index a registered reader still needs (the oldest segment when none is registered)
  minReaderIndex = 0
  private timer?: NodeJS.Timeout

  // writer: this process's, which deletes through its own bookkeeping; none: unlink the files
  constructor(
    private readonly dir: string,
    private readonly writer: LogWriter | undefined,
  ) {}

  sweep(): void {
    const { dir, writer } = this
    const offsets = allOffsets(dir)
    const bases = listSegments(dir)
    if (writer) for (const b of writer.sealed()) if (!bases.includes(b)) writer.remove(b) // deleted by another process
    if (offsets.size === 0) {
      this.minReaderIndex = bases[0] ?? 0
      return // nobody registered yet: keep everything for the first reader
    }
    this.minReaderIndex = Math.min(...[...offsets.values()].map((o) => o?.index ?? 0))
    for (let i = 0; i + 1 < bases.length && bases[i + 1]! <= this.minReaderIndex; i++) {
      if (writer) writer.remove(bases[i]!)
      else {
        try {
          unlinkSync(segmentPath(dir, bases[i]!))
        } catch {
          // someone else deleted it first
        }
      }
    }
  }

  // Sweeps now and then every 250 ms until stop().
  start(): void {
    this.sweep()
    this.timer = setInterval(() => {
      try {
        this.sweep()
      } catch (error) {
        // a segment that cannot be deleted stays on disk (counted in --stat); nothing is lost
        warnOnce('sweep', `${this.dir}: could not delete a consumed segment: ${describeSystemError(error)}`)
      }
    }, 250)
    this.timer.unref()
  }

  stop(): void {
    clearInterval(this.timer)
  }
}
