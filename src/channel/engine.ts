import { lockDir, pidNote } from '../core/dir-lock.js'
import { describeSystemError, TsfError } from '../core/errors.js'
import { ExitCode } from '../core/exit-codes.js'
import { info } from '../core/log.js'
import type { Runtime } from '../core/runtime.js'
import { LogReader } from './log-reader.js'
import { LogWriter, type FsyncPolicy } from './log-writer.js'
import { ensureReadersDir, loadOffset, saveOffset } from './offsets.js'
import { readLoop } from './read-loop.js'
import { listSegments } from './segments.js'
import type { WhenFull } from './space.js'
import { Sweeper } from './sweep.js'
import { writeLoop } from './write-loop.js'
import { makeDirsSync } from '../core/make-dirs.js'

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

// What the write and read loops (write-loop.ts, read-loop.ts) of one run share.
export interface ChannelRun {
  config: ChannelConfig
  rt: Runtime
  writer?: LogWriter
  reader?: LogReader
  sweeper: Sweeper
  // the first failure of the log (an fsync, the disk): both loops stop on it
  fatal?: Error
  // the write loop ended: in pass mode the reader stops once it has read everything
  writingDone: boolean
}

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

export const runChannel = async (config: ChannelConfig, rt: Runtime): Promise<number> => {
  const { dir, mode } = config
  try {
    makeDirsSync(dir)
    ensureReadersDir(dir)
  } catch (error) {
    throw new TsfError(`--dir ${dir}: ${describeSystemError(error)}`)
  }
  const locks = []
  const writing = mode !== 'read'
  const readerName = mode === 'write' ? undefined : config.readers[0]!
  if (writing)
    locks.push(
      await lockDir(
        dir,
        { kind: 'channel', role: 'writer' },
        (pid) => `${dir}: another tsf channel is already writing to it${pidNote(pid)}`,
      ),
    )
  if (readerName)
    locks.push(
      await lockDir(
        dir,
        { kind: 'channel', role: `reader.${readerName}` },
        (pid) => `${dir}: another tsf channel is already reading it as reader '${readerName}'${pidNote(pid)}`,
      ),
    )
  const counters = rt.counters
  const writer = writing
    ? refuseOnSystemError(dir, () =>
        LogWriter.open({ dir, segmentSize: config.segmentSize, fsync: config.fsync, memoryReader: mode === 'pass' }),
      )
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

  const sweeper = new Sweeper(dir, writer)
  sweeper.start()

  // Flume's names mean events (ChannelSize) or a share (ChannelFillPercentage); bytes have names
  // of their own (docs/channel.md, Metrics)
  if (writer) {
    counters.gauge('ChannelSize', () => Math.max(0, writer.nextIndex - sweeper.minReaderIndex))
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

  const run: ChannelRun = { config, rt, writer, reader, sweeper, writingDone: !writing }
  const wakeReader = (): void => void writer?.emit('wake')

  writer?.on('appended', wakeReader)
  let code: number = ExitCode.ok
  try {
    const reading = readLoop(run)
    await writeLoop(run).finally(() => {
      run.writingDone = true
      wakeReader()
    })
    const left = await reading
    if (run.fatal) throw run.fatal
    if (left && !rt.bySignal) code = ExitCode.failure
  } finally {
    sweeper.stop()
    await reader?.close()
    if (writer) {
      sweeper.sweep()
      writer.close()
    }
    for (const lock of locks) lock.release()
  }
  return code
}
