import { formatBytes } from '../core/units.js'
import { info, warn } from '../core/log.js'
import type { Counters } from '../core/metrics.js'
import { pause } from '../core/wait.js'
import type { LogWriter } from './log-writer.js'
import type { FreeSpace, WhenFull } from './space.js'
import type { Sweeper } from './sweep.js'

export interface AdmissionConfig {
  dir: string
  maxSize: number
  minFree: number
  whenFull: WhenFull
}

// Whether a batch may go into the log: within --max-size and above --min-free, or else what
// --when-full says (hold the input, drop the newest, drop the oldest segment).
export class Admission {
  private blocked = false
  // events dropped by --when-full drop-newest
  droppedNewest = 0

  constructor(
    private readonly config: AdmissionConfig,
    private readonly writer: LogWriter,
    private readonly free: FreeSpace,
    private readonly sweeper: Sweeper,
    private readonly counters: Counters,
    private readonly stop: AbortSignal,
  ) {}

  // The usual case, decided without a promise: the batch fits.
  fits(bytes: number): boolean {
    const { writer, config } = this
    return (
      !this.blocked &&
      !(writer.totalBytes > 0 && writer.totalBytes + bytes > config.maxSize) &&
      this.free.available() - bytes >= config.minFree
    )
  }

  // Waits until a batch of `bytes` fits, by the --when-full policy.
  async admit(bytes: number): Promise<'ok' | 'drop' | 'stop'> {
    const { writer, config, free, counters } = this
    const { dir } = config
    for (;;) {
      const overSize = writer.totalBytes > 0 && writer.totalBytes + bytes > config.maxSize
      const lowDisk = free.available() - bytes < config.minFree
      if (!overSize && !lowDisk) {
        if (this.blocked) info(`${dir}: room again, taking input`)
        this.blocked = false
        return 'ok'
      }
      this.sweeper.sweep()
      free.refresh()
      if (writer.totalBytes + bytes <= config.maxSize && free.available() - bytes >= config.minFree) continue
      const why = lowDisk
        ? `free space below --min-free ${formatBytes(config.minFree)}`
        : `full (--max-size ${formatBytes(config.maxSize)})`
      if (config.whenFull === 'drop-newest') {
        if (this.droppedNewest === 0) warn(`${dir}: ${why}: dropping new events (--when-full drop-newest), counted in EventDropCount`)
        return 'drop'
      }
      let sealed = writer.sealed()
      if (config.whenFull === 'drop-oldest' && !sealed.length && writer.totalBytes > 0) {
        // everything sits in the active segment (a batch larger than what sealed segments
        // would free): seal it so it can be dropped, rather than block for ever
        writer.roll()
        sealed = writer.sealed()
      }
      if (config.whenFull === 'drop-oldest' && sealed.length) {
        const base = sealed[0]!
        const n = Math.max(0, writer.endOf(base) - Math.max(base, this.sweeper.minReaderIndex))
        writer.remove(base)
        counters.add('EventDropCount', n)
        warn(`${dir}: ${why}: dropped the oldest segment, ${n} event(s) no reader had taken (--when-full drop-oldest)`)
        continue
      }
      if (!sealed.length && writer.nextIndex > writer.activeBase && this.sweeper.minReaderIndex >= writer.nextIndex) {
        // every reader has taken all the log holds, yet this batch does not fit beside the active
        // segment (a batch near --max-size): seal it, so that the sweep can delete it, rather than
        // hold the input for ever with nothing left for the readers to take
        writer.roll()
        continue
      }
      if (!this.blocked) info(`${dir}: ${why}: holding input until readers catch up (back pressure)`)
      this.blocked = true
      if (this.stop.aborted) return 'stop'
      await pause(100)
    }
  }
}
