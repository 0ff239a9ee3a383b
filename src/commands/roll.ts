import { Command, Option } from '../core/commander.js'
import { runCommand } from '../core/runtime.js'
import { addReaderOptions, addRunnerOptions, choice, count, duration, size, type ReaderOptions, type RunnerOptions } from './common.js'
import type { RollConfig } from '../sinks/roll/engine.js'
import type { RollFormat } from '../sinks/roll/format.js'

interface RollCliOptions extends ReaderOptions, RunnerOptions {
  prefix: string
  suffix?: string
  format: RollFormat
  gzip: boolean
  interval: number
  size: number
  count: number
  idle: number
  maxOpen: number
  dedupeHorizon: number
  useLocalTime: boolean
  hdfsUser?: string
}

// tsf roll DIR: events on stdin → rolled files, exactly once (see src/sinks/roll/engine.ts).
export const makeRollCommand = (): Command => {
  const cmd = new Command('roll')
    .description('write events into rolled files (a directory with path escapes), exactly once')
    .argument(
      '<dir>',
      'output directory or hdfs://namenode:port/path; may hold escapes such as /data/logs/%Y-%m-%d (state is kept in the part before the first escape)',
    )
    .option('--prefix <template>', 'file name prefix; escapes allowed (%Y %m %d %H %M %S %s %t %{header} %{host} %[host])', 'events-')
    .option('--suffix <template>', 'file name suffix (default .log for body, .ndjson for json; .gz is added with --gzip)')
    .addOption(
      new Option('--format <format>', 'body: the original lines; json: the whole events')
        .default('body')
        .argParser(choice('--format', ['body', 'json'])),
    )
    .option('--gzip', 'compress files (gzip members, readable by zcat after any crash)', false)
    .addOption(
      new Option('--interval <duration>', 'roll a file this long after it was opened (0: never)')
        .default(30_000, "30s, as Flume's file_roll")
        .argParser(duration('--interval')),
    )
    .addOption(
      new Option('--size <size>', 'roll a file once it holds this many bytes (0: never)')
        .default(128 * 1024 * 1024, '128M')
        .argParser(size('--size')),
    )
    .addOption(new Option('--count <n>', 'roll a file once it holds this many events (0: never)').default(0).argParser(count('--count')))
    .addOption(
      new Option('--idle <duration>', 'close a file after this long without events (0: never)').default(0).argParser(duration('--idle')),
    )
    .addOption(
      new Option('--max-open <n>', 'most files open at once; the least recently written is closed first')
        .default(500)
        .argParser(count('--max-open')),
    )
    .addOption(
      new Option('--dedupe-horizon <duration>', 'forget a stream (src) this long after it was last seen')
        .default(7 * 86_400_000, '7d')
        .argParser(duration('--dedupe-horizon')),
    )
    .option('--use-local-time', 'bucket events by their arrival time instead of their "ts"', false)
    .option('--hdfs-user <name>', "HDFS user (WebHDFS user.name; default: the URL's user@, $HADOOP_USER_NAME, or the login name)")
  addReaderOptions(cmd)
  addRunnerOptions(cmd)
  return cmd.action(async (dir: string, options: RollCliOptions) => {
    const config: RollConfig = { ...options, dir }
    // the engine loads when it runs, not for --help
    const { runRoll } = await import('../sinks/roll/engine.js')
    process.exitCode = await runCommand({ component: 'roll', shutdownTimeout: options.shutdownTimeout, metrics: options.metrics }, (rt) =>
      runRoll(config, rt),
    )
  })
}
