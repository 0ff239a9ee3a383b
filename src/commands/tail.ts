import { Command, Option } from '../core/commander.js'
import { hostname } from 'node:os'
import { UsageError } from '../core/errors.js'
import { runCommand } from '../core/runtime.js'
import { userRegex } from '../core/regex.js'
import { addRunnerOptions, count, duration, header, size, type RunnerOptions } from './common.js'
import { makeTimestampParser } from '../sources/tail/timestamp.js'

interface TailOptions extends RunnerOptions {
  follow: boolean
  state?: string
  fromEnd: boolean
  match?: string
  exclude?: string
  recurse: number
  compressed: boolean
  multilineStart?: string
  multilineTimeout: number
  header?: Record<string, string>
  host: string
  tsRegex?: string
  tsFormat?: string
  maxLine: number
  truncate: boolean
  pollInterval: number
  pollOnly: boolean
  rotateWait: number
  window: number
  checkpointInterval: number
}

const regex = (option: string, text: string | undefined): RegExp | undefined => (text === undefined ? undefined : userRegex(option, text))

export const makeTailCommand = (): Command => {
  const cmd = new Command('tail')
    .description('read log files (and follow them with -F) as events; checkpoints move only when the downstream acked')
    .argument('<path...>', 'files, globs (quote them) or directories')
    .option('-F, --follow', 'keep following by name across rotation, truncation and new files', false)
    .option('--state <dir>', 'where the checkpoints live (default: $XDG_STATE_HOME/tsf/tail-<hash of the paths>)')
    .option('--from-end', 'start files never seen before at their end (only those found at start)', false)
    .option('--match <regex>', 'in directories and globs, only file names matching this')
    .option('--exclude <regex>', 'in directories and globs, skip file names matching this')
    .option(
      '--compressed',
      'also read compressed files (.gz, .bz2, .xz, .zst ...) found in directories and globs, as they are (not decompressed); skipped by default',
      false,
    )
    .addOption(
      new Option('--recurse <depth>', 'levels of subdirectories of a directory operand to search').default(0).argParser(count('--recurse')),
    )
    .option('--multiline-start <regex>', 'a line matching starts a new event; other lines are appended to the current one')
    .addOption(
      new Option('--multiline-timeout <duration>', 'emit a pending multi-line event after this long without its next line')
        .default(2000, '2s')
        .argParser(duration('--multiline-timeout')),
    )
    .option('-H, --header <K=V>', 'a static header on every event (repeatable)', header)
    .option('--host <name>', 'the host field of every event', hostname())
    .option('--ts-regex <regex>', 'take the event time from the first capture group (or the group named ts) of this')
    .option(
      '--ts-format <format>',
      'read the event time with this strftime-like format (%Y %m %d %H %M %S %f %b %z %s) or clf, syslog, iso8601, epoch, epoch-ms',
    )
    .addOption(
      new Option('--max-line <size>', 'longest line (or multi-line event) kept whole; longer ones are cut into pieces marked "cont"')
        .default(1024 * 1024, '1M')
        .argParser(size('--max-line')),
    )
    .option('--truncate', 'drop the rest of an oversize line instead of cutting it into pieces', false)
    .addOption(
      new Option('--poll-interval <duration>', 'how often files and directories are looked at besides inotify')
        .default(1000, '1s')
        .argParser(duration('--poll-interval')),
    )
    .option('--poll-only', 'do not use inotify (network filesystems): poll only', false)
    .addOption(
      new Option('--rotate-wait <duration>', 'how long a rotated or deleted file, read to its end, stays open for late writes')
        .default(5000, '5s')
        .argParser(duration('--rotate-wait')),
    )
    .addOption(
      new Option('--window <size>', 'most bytes of events written but not yet acked; reading pauses beyond it')
        .default(8 * 1024 * 1024, '8M')
        .argParser(size('--window')),
    )
    .addOption(
      new Option('--checkpoint-interval <duration>', 'how often acked positions are saved (one fsync for all files)')
        .default(200, '200ms')
        .argParser(duration('--checkpoint-interval')),
    )
  addRunnerOptions(cmd)
  cmd.addHelpText(
    'after',
    `
Examples:
  tsf tail -F '/var/log/app/*.log' -H service=web | tsf channel --dir /var/spool/tsf/q | tsf ship c1:52020
  tsf tail -F /var/log/nginx/access.log --ts-format clf | tsf ship c1:52020,c2:52020
  tsf tail /var/log/app.log --state /var/lib/tsf/app > app.ndjson     # catch up once, then exit

See man tsf-tail and docs/tail.md.`,
  )
  return cmd.action(async (operands: string[], options: TailOptions) => {
    const rules = {
      match: regex('--match', options.match),
      exclude: regex('--exclude', options.exclude),
      recurse: options.recurse,
      compressed: options.compressed,
    }
    const multilineStart = regex('--multiline-start', options.multilineStart)
    if (options.maxLine < 1) throw new UsageError('--max-line: must be at least 1 byte')
    if (options.pollInterval < 1) throw new UsageError('--poll-interval: must be more than 0')
    const config = {
      operands,
      follow: options.follow,
      // state-dir.ts loads node:crypto: only when the default is used
      stateDir: options.state ?? (await import('../sources/tail/state-dir.js')).defaultStateDir(operands, rules),
      defaultState: options.state === undefined,
      fromEnd: options.fromEnd,
      rules,
      read: {
        maxLine: options.maxLine,
        truncate: options.truncate,
        multiline: multilineStart ? { start: multilineStart, timeout: options.multilineTimeout } : undefined,
        timestamp: makeTimestampParser(options.tsRegex, options.tsFormat),
        host: options.host,
        headers: options.header ?? {},
      },
      pollInterval: options.pollInterval,
      rotateWait: options.rotateWait,
      window: options.window,
      checkpointInterval: options.checkpointInterval,
      shutdownTimeout: options.shutdownTimeout,
      inotify: !options.pollOnly,
    }
    process.exitCode = await runCommand(
      { component: 'tail', shutdownTimeout: options.shutdownTimeout, metrics: options.metrics },
      async (rt) => (await import('../sources/tail/engine.js')).runTail(config, rt),
    )
  })
}
