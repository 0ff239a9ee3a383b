import { Command, Option } from 'commander'
import { userInfo } from 'node:os'
import { UsageError } from '../core/errors.js'
import { ExitCode } from '../core/exit-codes.js'
import { warn } from '../core/log.js'
import { runCommand } from '../core/runtime.js'
import { addReaderOptions, addRunnerOptions, choice, count, duration, size, type ReaderOptions, type RunnerOptions } from './common.js'
import { defaultSuffix, type RollFormat } from '../sinks/roll/format.js'
import { parseHdfsUrl, WebHdfs, type RetryInfo } from '../sinks/hdfs/webhdfs.js'
import { HdfsStorage } from '../sinks/roll/hdfs-storage.js'
import { compileLayout, splitRoot, type Layout } from '../sinks/roll/layout.js'
import { LocalStorage } from '../sinks/roll/local-storage.js'
import type { RollStorage } from '../sinks/roll/storage.js'
import { Roller } from '../sinks/roll/roller.js'

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

// A local directory, or hdfs://namenode:port/path (the NameNode's WebHDFS port). Escapes stay out
// of URL parsing: the root (before the first escape) is the URL, the rest is the template.
const openStorage = (dir: string, prefix: string, suffix: string, hdfsUser: string | undefined, starting: AbortSignal): { layout: Layout; storage: RollStorage } => {
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(dir)) {
    const layout = compileLayout({ dir, prefix, suffix })
    return { layout, storage: new LocalStorage(layout.root) }
  }
  const { root, rest } = splitRoot(dir)
  const url = parseHdfsUrl(root)
  const layout = compileLayout({ dir: rest ? `${url.path === '/' ? '' : url.path}/${rest}` : url.path, prefix, suffix })
  const user = hdfsUser ?? url.user ?? process.env.HADOOP_USER_NAME ?? userInfo().username
  let said = 0
  const onRetry = (info: RetryInfo): void => {
    // say it on the first retry of a call and now and then after, not on every backoff step
    if (info.attempt === 1 || ++said % 20 === 0) warn(`${info.error.message}; retrying`)
  }
  return { layout, storage: new HdfsStorage(new WebHdfs(url.webhdfsBase, user, { onRetry, signal: starting }), layout.root) }
}

// tsf roll DIR: events on stdin → rolled files, exactly once (see src/sinks/roll/roller.ts).
export const makeRollCommand = (): Command => {
  const cmd = new Command('roll')
    .description('write events into rolled files (a directory with path escapes), exactly once')
    .argument('<dir>', 'output directory or hdfs://namenode:port/path; may hold escapes such as /data/logs/%Y-%m-%d (state is kept in the part before the first escape)')
    .option('--prefix <template>', 'file name prefix; escapes allowed (%Y %m %d %H %M %S %s %t %{header} %[host])', 'events-')
    .option('--suffix <template>', 'file name suffix (default .log for body, .ndjson for json; .gz is added with --gzip)')
    .addOption(new Option('--format <format>', 'body: the original lines; json: the whole events').default('body').argParser(choice('--format', ['body', 'json'])))
    .option('--gzip', 'compress files (gzip members, readable by zcat after any crash)', false)
    .addOption(new Option('--interval <duration>', 'roll a file this long after it was opened (0: never)').default(600_000, '10m').argParser(duration('--interval')))
    .addOption(new Option('--size <size>', 'roll a file once it holds this many bytes (0: never)').default(128 * 1024 * 1024, '128M').argParser(size('--size')))
    .addOption(new Option('--count <n>', 'roll a file once it holds this many events (0: never)').default(0).argParser(count('--count')))
    .addOption(new Option('--idle <duration>', 'close a file after this long without events (0: never)').default(0).argParser(duration('--idle')))
    .addOption(new Option('--max-open <n>', 'most files open at once; the least recently written is closed first').default(500).argParser(count('--max-open')))
    .addOption(new Option('--dedupe-horizon <duration>', 'forget a stream (src) this long after it was last seen').default(7 * 86_400_000, '7d').argParser(duration('--dedupe-horizon')))
    .option('--use-local-time', 'bucket events by their arrival time instead of their "ts"', false)
    .option('--hdfs-user <name>', 'HDFS user (WebHDFS user.name; default: the URL\'s user@, $HADOOP_USER_NAME, or the login name)')
  addReaderOptions(cmd)
  addRunnerOptions(cmd)
  return cmd.action(async (dir: string, options: RollCliOptions) => {
    if (options.maxOpen < 1) throw new UsageError('--max-open: must be at least 1')
    const suffix = (options.suffix ?? defaultSuffix(options.format)) + (options.gzip && !(options.suffix ?? '').endsWith('.gz') ? '.gz' : '')
    // a SIGTERM while roll is still starting (HDFS unreachable, say) ends the start at once
    const starting = new AbortController()
    const { layout, storage } = openStorage(dir, options.prefix, suffix, options.hdfsUser, starting.signal)
    const code = await runCommand({ component: 'roll', shutdownTimeout: options.shutdownTimeout, metrics: options.metrics }, async (rt) => {
      const roller = new Roller(
        {
          storage,
          layout,
          format: options.format,
          gzip: options.gzip,
          interval: options.interval,
          size: options.size,
          count: options.count,
          idle: options.idle,
          maxOpen: options.maxOpen,
          horizon: options.dedupeHorizon,
          useLocalTime: options.useLocalTime,
          // an HDFS APPEND costs round trips and a lease recovery: fewer, larger commits
          maxStaged: storage instanceof HdfsStorage ? 32 * 1024 * 1024 : undefined,
        },
        rt.counters,
      )
      const abortStart = (): void => starting.abort()
      rt.stop.addEventListener('abort', abortStart, { once: true })
      try {
        await roller.start()
      } catch (error) {
        if (rt.stop.aborted) return ExitCode.ok
        throw error
      } finally {
        rt.stop.removeEventListener('abort', abortStart)
      }
      const input = rt.input({ maxLine: options.maxLine, truncate: options.truncate })
      return roller.run(input, rt.stop, options.shutdownTimeout)
    })
    process.exitCode = code
  })
}
