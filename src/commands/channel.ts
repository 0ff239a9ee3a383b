import { Command, Option } from '../core/commander.js'
import { UsageError } from '../core/errors.js'
import { parseDuration } from '../core/units.js'
import type { ChannelConfig, ChannelMode } from '../channel/engine.js'
import { runCommand } from '../core/runtime.js'
import type { FsyncPolicy } from '../channel/log-writer.js'
import type { WhenFull } from '../channel/space.js'
import { addReaderOptions, addRunnerOptions, choice, header, size, type ReaderOptions, type RunnerOptions } from './common.js'

interface ChannelOptions extends ReaderOptions, RunnerOptions {
  dir?: string
  writeOnly?: boolean
  readOnly?: boolean
  reader?: string[]
  fsync: string
  maxSize: number
  minFree: number
  whenFull: WhenFull
  segmentSize?: number
  stat?: boolean
  header?: Record<string, string>
  json?: boolean
}

const fsyncPolicy = (value: string): FsyncPolicy => {
  if (value === 'batch') return { kind: 'batch' }
  if (value === 'always') return { kind: 'always' }
  return { kind: 'interval', ms: parseDuration(value, '--fsync') }
}

// a reader's name is the name of its offset file in the channel directory
const readerNamePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/

const readerName = (value: string, previous: string[] = []): string[] => {
  if (!readerNamePattern.test(value)) throw new UsageError(`--reader: expected a name of letters, digits, '.', '_' or '-', got '${value}'`)
  return [...previous, value]
}

export const makeChannelCommand = (): Command => {
  const cmd = new Command('channel')
    .description(
      'durable disk queue between two stages: appends events to a checksummed segment log, acks upstream after fsync, streams them on to one or more named readers',
    )
    .addOption(new Option('--dir <dir>', 'the channel directory (created if missing)'))
    .addOption(
      new Option('--write-only', 'only append stdin to the channel (readers run as separate --read-only processes)').conflicts('readOnly'),
    )
    .addOption(new Option('--read-only', 'only stream the channel to stdout, as the reader named by --reader, from its durable offset on'))
    .addOption(
      new Option(
        '--reader <name>',
        'the reader this process reads as (default "default"); with --write-only, readers to register up front so nothing is deleted before they first run (repeatable)',
      ).argParser(readerName),
    )
    .addOption(
      new Option(
        '--fsync <policy>',
        'when appended events are fsynced (and then acked upstream): batch (group commit), always (each batch on its own), or a duration such as 500ms',
      ).default('batch'),
    )
    .addOption(
      new Option('--max-size <size>', 'most bytes the channel holds on disk').default(1024 ** 3, '1G').argParser(size('--max-size')),
    )
    .addOption(
      new Option(
        '--when-full <policy>',
        'when --max-size or --min-free is reached: block (back pressure upstream), drop-oldest or drop-newest; drops are counted',
      )
        .default('block')
        .argParser(choice('--when-full', ['block', 'drop-oldest', 'drop-newest'])),
    )
    .addOption(
      new Option('--min-free <size>', 'stop accepting events before the file system has less free space than this')
        .default(500 * 1024 ** 2, '500M')
        .argParser(size('--min-free')),
    )
    .addOption(
      new Option(
        '--segment-size <size>',
        'size at which a segment file is sealed and the next one started (default 64M, at most a quarter of --max-size)',
      ).argParser(size('--segment-size')),
    )
    .option('-H, --header <K=V>', 'a static header on every event appended, kept when the event has one (repeatable)', header)
    .option('--stat', 'print the state of the channel dir (depth, per-reader lag, oldest event age, segments, free space) and exit')
    .option('--json', 'with --stat: print it as one JSON document (a stable shape, for scripts and monitoring)')
  addReaderOptions(cmd)
  addRunnerOptions(cmd)
  cmd.addHelpText(
    'after',
    `
Examples:
  tsf tail -F app.log | tsf channel --dir /var/spool/tsf/q | tsf ship c1:52020
  tsf collect --listen :52020 | tsf channel --dir q --write-only --reader hdfs --reader archive
  tsf channel --dir q --read-only --reader hdfs | tsf roll /data/logs
  tsf channel --dir q --stat
  tsf channel --dir q --stat --json | jq '.readers[] | {name, events: .backlog.events}'`,
  )
  return cmd.action(async (o: ChannelOptions) => {
    if (!o.dir) throw new UsageError('--dir is required')
    if (o.json && !o.stat) throw new UsageError('--json goes with --stat')
    if (o.stat) {
      process.exitCode = await (await import('../channel/stat.js')).printStat(o.dir, o.json)
      return
    }
    if (o.fsync !== undefined) fsyncPolicy(o.fsync)
    const mode: ChannelMode = o.writeOnly ? 'write' : o.readOnly ? 'read' : 'pass'
    const readers = o.reader ?? (mode === 'write' ? [] : ['default'])
    if (o.header && mode === 'read')
      throw new UsageError('-H sets headers on events appended: not with --read-only (put tsf filter -H after the reader)')
    if (mode !== 'write' && readers.length > 1) throw new UsageError('--reader: give one name, except with --write-only')
    if (o.maxSize < 64 * 1024) throw new UsageError(`--max-size: at least 64K, got ${o.maxSize}`)
    const segmentSize = Math.max(4096, Math.min(o.segmentSize ?? 64 * 1024 ** 2, Math.floor(o.maxSize / 4)))
    const config: ChannelConfig = {
      dir: o.dir,
      mode,
      readers,
      fsync: fsyncPolicy(o.fsync),
      maxSize: o.maxSize,
      minFree: o.minFree,
      whenFull: o.whenFull,
      segmentSize,
      maxLine: o.maxLine,
      truncate: o.truncate,
      shutdownTimeout: o.shutdownTimeout,
      metrics: o.metrics,
      headers: o.header,
    }
    process.exitCode = await runCommand({ component: 'channel', shutdownTimeout: o.shutdownTimeout, metrics: o.metrics }, async (rt) =>
      // the engine loads when it runs, not with --help or a usage error
      (await import('../channel/engine.js')).runChannel(config, rt),
    )
  })
}
