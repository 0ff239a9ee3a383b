import { once } from 'node:events'
import { mkdirSync, unlinkSync } from 'node:fs'
import { describeSystemError, TsfError } from '../core/errors.js'
import { ExitCode } from '../core/exit-codes.js'
import { formatBytes } from '../core/units.js'
import { info, warn, warnOnce } from '../core/log.js'
import type { Runtime } from '../core/runtime.js'
import { eventCount, forgetEvents, releaseEvents } from '../core/link/reader.js'
import { pause } from '../core/wait.js'
import { acquireLock } from './lock.js'
import { LogReader } from './log-reader.js'
import { LogWriter, type FsyncPolicy } from './log-writer.js'
import { allOffsets, ensureReadersDir, loadOffset, saveOffset } from './offsets.js'
import { OVERHEAD } from './record.js'
import { listSegments, segmentPath } from './segments.js'
import { DrainProgress } from './progress.js'
import { endIndex } from './recovery.js'
import { FreeSpace, type WhenFull } from './space.js'
import { staticHeaders } from '../transforms/static-headers.js'
import { lagBytes } from './stat.js'

export type ChannelMode = 'pass' | 'write' | 'read'

export interface ChannelConfig {
  dir: string
  mode: ChannelMode
  // pass and read: the one reader this process reads as; write: readers to register up front
  readers: string[]
  fsync: FsyncPolicy
  maxSize: number
  minFree: number
  whenFull: WhenFull
  segmentSize: number
  maxLine: number
  truncate: boolean
  shutdownTimeout: number
  metrics?: { host: string; port: number }
  // -H K=V: static headers set on every event appended
  headers?: Record<string, string>
}

const EMPTY = Buffer.alloc(0)

// A file of the channel that cannot be opened or read as one (a directory under a segment's name,
// no permission): refuse to start with one line naming it, never a stack trace.
const refuseOnSystemError = <T>(dir: string, open: () => T): T => {
  try {
    return open()
  } catch (error) {
    if (error instanceof TsfError || typeof (error as NodeJS.ErrnoException).code !== 'string') throw error
    throw new TsfError(`${dir}: ${describeSystemError(error)}`)
  }
}
// most bytes written but not yet fsynced before the channel stops reading its input
const MAX_UNSYNCED = 16 * 1024 * 1024

export const runChannel = async (config: ChannelConfig, rt: Runtime): Promise<number> => {
  const { dir, mode } = config
  try {
    mkdirSync(dir, { recursive: true })
    ensureReadersDir(dir)
  } catch (error) {
    throw new TsfError(`--dir ${dir}: ${describeSystemError(error)}`)
  }
  const locks = []
  const writing = mode !== 'read'
  const readerName = mode === 'write' ? undefined : config.readers[0]!
  if (writing) locks.push(await acquireLock(dir, 'writer', 'another tsf channel is already writing to it'))
  if (readerName)
    locks.push(await acquireLock(dir, `reader.${readerName}`, `another tsf channel is already reading it as reader '${readerName}'`))
  const counters = rt.counters
  const writer = writing
    ? refuseOnSystemError(dir, () => LogWriter.open({ dir, segmentSize: config.segmentSize, fsync: config.fsync }))
    : undefined
  if (writer?.recoveredQuarantine) counters.add('EventQuarantineCount', writer.recoveredQuarantine)
  if (mode === 'write') {
    const oldest = listSegments(dir)[0] ?? 0
    for (const name of config.readers) if (!loadOffset(dir, name)) saveOffset(dir, name, { index: oldest, segment: oldest, pos: 0 })
  }
  const reader = readerName
    ? refuseOnSystemError(
        dir,
        () =>
          new LogReader(dir, readerName, {
            onDropped: (n) => counters.add('EventDropCount', n),
            onQuarantined: (n) => counters.add('EventQuarantineCount', n),
            recent: writer ? (segment, pos) => writer.take(segment, pos) : undefined,
            segments: writer ? () => writer.bases() : undefined,
            end: writer ? () => writer.end() : undefined,
          }),
      )
    : undefined

  // --- segment deletion: sealed segments every registered reader has durably passed ---------
  let minReaderIndex = 0
  const sweep = (): void => {
    const offsets = allOffsets(dir)
    const bases = listSegments(dir)
    if (writer) for (const b of writer.sealed()) if (!bases.includes(b)) writer.remove(b) // deleted by another process
    if (offsets.size === 0) {
      minReaderIndex = bases[0] ?? 0
      return // nobody registered yet: keep everything for the first reader
    }
    minReaderIndex = Math.min(...[...offsets.values()].map((o) => o?.index ?? 0))
    for (let i = 0; i + 1 < bases.length && bases[i + 1]! <= minReaderIndex; i++) {
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
  sweep()
  const sweeper = setInterval(() => {
    try {
      sweep()
    } catch (error) {
      // a segment that cannot be deleted stays on disk (counted in --stat); nothing is lost
      warnOnce('sweep', `${dir}: could not delete a consumed segment: ${describeSystemError(error)}`)
    }
  }, 250)
  sweeper.unref()

  // Flume's names mean events (ChannelSize) or a share (ChannelFillPercentage); bytes have names
  // of their own (docs/channel.md, Metrics)
  if (writer) {
    counters.gauge('ChannelSize', () => Math.max(0, writer.nextIndex - minReaderIndex))
    counters.gauge('ChannelFillPercentage', () => Math.round((writer.totalBytes / config.maxSize) * 10000) / 100)
    counters.gauge('ChannelSizeBytes', () => writer.totalBytes)
    counters.gauge('ChannelCapacityBytes', () => config.maxSize)
    if (reader) counters.gauge('ReaderBacklogEvents', () => Math.max(0, writer.nextIndex - reader.next))
  }
  counters.add('EventPutSuccessCount', 0)
  counters.add('EventTakeSuccessCount', 0)
  counters.add('EventDropCount', 0)
  counters.add('EventQuarantineCount', 0)
  info(
    `${dir}: ready (${mode === 'pass' ? `pass-through, reader '${readerName}'` : mode === 'write' ? 'write-only' : `reader '${readerName}'`})`,
  )

  let writingDone = !writing
  let fatal: Error | undefined
  const wakeReader = (): void => void writer?.emit('wake')

  const writeLoop = async (): Promise<void> => {
    if (!writer) return
    const free = new FreeSpace(dir)
    let blocked = false
    let droppedNewest = 0
    // Waits until a batch of `bytes` fits, by the --when-full policy.
    const fits = (bytes: number): boolean =>
      !blocked && !(writer.totalBytes > 0 && writer.totalBytes + bytes > config.maxSize) && free.available() - bytes >= config.minFree
    const admit = async (bytes: number): Promise<'ok' | 'drop' | 'stop'> => {
      for (;;) {
        const overSize = writer.totalBytes > 0 && writer.totalBytes + bytes > config.maxSize
        const lowDisk = free.available() - bytes < config.minFree
        if (!overSize && !lowDisk) {
          if (blocked) info(`${dir}: room again, taking input`)
          blocked = false
          return 'ok'
        }
        sweep()
        free.refresh()
        if (writer.totalBytes + bytes <= config.maxSize && free.available() - bytes >= config.minFree) continue
        const why = lowDisk
          ? `free space below --min-free ${formatBytes(config.minFree)}`
          : `full (--max-size ${formatBytes(config.maxSize)})`
        if (config.whenFull === 'drop-newest') {
          if (droppedNewest === 0) warn(`${dir}: ${why}: dropping new events (--when-full drop-newest), counted in EventDropCount`)
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
          const n = Math.max(0, writer.endOf(base) - Math.max(base, minReaderIndex))
          writer.remove(base)
          counters.add('EventDropCount', n)
          warn(`${dir}: ${why}: dropped the oldest segment, ${n} event(s) no reader had taken (--when-full drop-oldest)`)
          continue
        }
        if (!blocked) info(`${dir}: ${why}: holding input until readers catch up (back pressure)`)
        blocked = true
        if (rt.stop.aborted) return 'stop'
        await pause(100)
      }
    }
    const addHeaders = staticHeaders(config.headers)
    // without -H the heads go into the log as the bytes they came in (less their cursors)
    const input = rt.input({ maxLine: config.maxLine, truncate: config.truncate, lines: addHeaders ? undefined : 'heads' })
    let noSpaceSaid = false
    for await (const batch of input.batches()) {
      if (fatal) break
      addHeaders?.(batch.heads)
      const n = eventCount(batch)
      const bytes = batch.bytes + n * OVERHEAD
      // the usual case decided without a promise (admit() waits, drops or says so when full)
      const verdict = fits(bytes) ? 'ok' : await admit(bytes)
      if (verdict === 'stop') break
      if (verdict === 'drop') {
        droppedNewest += n
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
          sweep()
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
          fatal ??= error
          input.stop()
        },
      )
      if (config.fsync.kind === 'always') await durable.catch(() => undefined)
      while (writer.unsynced > MAX_UNSYNCED && !fatal) await once(writer, 'synced')
    }
    if (!fatal) await writer.flush().catch((e: Error) => (fatal ??= e))
    if (droppedNewest) warn(`${dir}: dropped ${droppedNewest} new event(s) while full (--when-full drop-newest)`)
  }

  const readLoop = async (): Promise<number> => {
    if (!reader) return 0
    const out = await rt.output()
    rt.atAbruptExit(() => reader.saveAtExit())
    const bases = listSegments(dir)
    const end = writer ? writer.nextIndex : bases.length ? endIndex(dir, bases.at(-1)!) : 0
    const backlog = Math.max(0, end - reader.next)
    const progress = new DrainProgress(reader.name, backlog, backlog ? lagBytes(dir, reader.position(), bases) : 0)
    for (;;) {
      if (rt.stop.aborted || fatal) break
      const batch = reader.read()
      if (batch) {
        const n = batch.count
        // the runs are views into the reader's buffer: written (copied) before the next read
        const last = batch.runs.length - 1
        for (let i = 0; i < last; i++) out.writeLines(batch.runs[i]!)
        out.writeLines(batch.runs[last] ?? EMPTY, () => {
          reader.commit(batch.end)
          counters.add('EventTakeSuccessCount', n)
        })
        progress.took(n)
        await out.ready()
        continue
      }
      if (mode === 'pass' && writingDone && reader.next >= writer!.nextIndex) break
      // nothing new: wait for the writer in this process, or poll the files for one elsewhere
      await idle(writer ? 1000 : 100)
    }
    progress.done()
    const left = await out.end(config.shutdownTimeout)
    await reader.saveNow()
    if (left)
      info(
        `${left} event(s) sent downstream but not acked within --shutdown-timeout: they stay in the channel and are sent again next time`,
      )
    return left
  }

  // Resolves on the writer's next append (same process), after `ms` (a writer elsewhere), or on stop.
  const idle = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer)
        writer?.off('wake', done)
        rt.stop.removeEventListener('abort', done)
        resolve()
      }
      const timer = setTimeout(done, ms)
      writer?.on('wake', done)
      rt.stop.addEventListener('abort', done)
    })

  writer?.on('appended', wakeReader)
  let code: number = ExitCode.ok
  try {
    const reading = readLoop()
    await writeLoop().finally(() => {
      writingDone = true
      wakeReader()
    })
    const left = await reading
    if (fatal) throw fatal
    if (left && !rt.bySignal) code = ExitCode.failure
  } finally {
    clearInterval(sweeper)
    await reader?.close()
    if (writer) {
      sweep()
      writer.close()
    }
    for (const lock of locks) lock.release()
  }
  return code
}
