import { once } from 'node:events'
import { describeSystemError, TsfError } from '../core/errors.js'
import { warn } from '../core/log.js'
import { eventCount, forgetEvents, releaseEvents } from '../core/link/reader.js'
import { pause } from '../core/wait.js'
import { staticHeaders } from '../transforms/static-headers.js'
import { Admission } from './admission.js'
import type { ChannelRun } from './engine.js'
import { OVERHEAD } from './record.js'
import { FreeSpace } from './space.js'

// most bytes written but not yet fsynced before the channel stops reading its input
const MAX_UNSYNCED = 16 * 1024 * 1024

// The writing side: input batches appended to the log, acked upstream once durable (by --fsync).
export const writeLoop = async (run: ChannelRun): Promise<void> => {
  const { writer, config, rt } = run
  if (!writer) return
  const { dir } = config
  const counters = rt.counters
  const free = new FreeSpace(dir)
  const room = new Admission(config, writer, free, run.sweeper, counters, rt.stop)
  const addHeaders = staticHeaders(config.headers)
  // without -H the heads go into the log as the bytes they came in (less their cursors)
  const input = rt.input({ maxLine: config.maxLine, truncate: config.truncate, lines: addHeaders ? undefined : 'heads' })
  let noSpaceSaid = false
  for await (const batch of input.batches()) {
    if (run.fatal) break
    addHeaders?.(batch.heads)
    const n = eventCount(batch)
    const bytes = batch.bytes + n * OVERHEAD
    // the usual case decided without a promise (admit() waits, drops or says so when full)
    const verdict = room.fits(bytes) ? 'ok' : await room.admit(bytes)
    if (verdict === 'stop') break
    if (verdict === 'drop') {
      room.droppedNewest += n
      counters.add('EventDropCount', n)
      input.done(batch) // dropping is the policy the user chose: the upstream may forget them
      continue
    }
    let durable: Promise<void> | undefined
    while (!durable) {
      try {
        durable = writer.append(batch.lines ? { lines: batch.lines, count: n } : batch.heads)
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw new TsfError(`${dir}: ${describeSystemError(error)}`)
        if (!noSpaceSaid) warn(`${dir}: no space left on device: holding input until space frees (raise --min-free to stop earlier)`)
        noSpaceSaid = true
        if (rt.stop.aborted) break
        run.sweeper.sweep()
        await pause(250)
      }
    }
    if (!durable) break
    // the log holds the events now: let go of the heads (views into stdin's chunks) while the
    // batch waits for its fsync, or they outlive young-generation GCs and cost full ones; a batch
    // framed as lines gives its block back (append copied it), so the reader reuses its blocks
    // instead of allocating 1 MiB per MiB read (a forced full GC every 8 MiB: buffer-gc.ts)
    releaseEvents(batch)
    forgetEvents(batch)
    free.wrote(bytes)
    durable.then(
      () => {
        input.done(batch)
        counters.add('EventPutSuccessCount', n)
      },
      (error: Error) => {
        run.fatal ??= error
        input.stop()
      },
    )
    if (config.fsync.kind === 'always') await durable.catch(() => undefined)
    while (writer.unsynced > MAX_UNSYNCED && !run.fatal) await once(writer, 'synced')
  }
  if (!run.fatal) await writer.flush().catch((e: Error) => (run.fatal ??= e))
  if (room.droppedNewest) warn(`${dir}: dropped ${room.droppedNewest} new event(s) while full (--when-full drop-newest)`)
}
