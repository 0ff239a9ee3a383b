import { Command, Option } from '../core/commander.js'
import { join, resolve } from 'node:path'
import { UsageError } from '../core/errors.js'
import { runCommand } from '../core/runtime.js'
import { userRegex } from '../core/regex.js'
import type { SpoolOrder } from '../sources/spool/listing.js'
import { addRunnerOptions, addSourceOptions, choice, duration, refuseZeroMaxLine, type RunnerOptions, type SourceFlags } from './common.js'

interface SpoolOptions extends RunnerOptions, SourceFlags {
  settle: number
  ignore: string
  order: SpoolOrder
  recurse: boolean
  doneSuffix: string
  delete: boolean
  state?: string
  quarantine?: string
  once: boolean
  pollInterval: number
  checkpointInterval: number
}

export const makeSpoolCommand = (): Command => {
  const cmd = new Command('spool')
    .description('ingest the complete files dropped into a directory, then rename (or delete) each once all its events are acked')
    .argument('<dir>', 'the spool directory')
    .addOption(
      new Option('--settle <duration>', 'a file is taken once it has not changed for this long')
        .default(2000, '2s')
        .argParser(duration('--settle')),
    )
    .option('--ignore <regex>', 'file (and directory) names to leave alone', '^\\.|\\.tmp$')
    .addOption(
      new Option('--order <order>', 'which settled file goes first: oldest or youngest modification time, or name')
        .default('oldest')
        .argParser(choice('--order', ['oldest', 'youngest', 'name'])),
    )
    .option('--recurse', 'take files from subdirectories too', false)
    .option('--done-suffix <suffix>', 'rename a finished file by appending this', '.COMPLETED')
    .option('--delete', 'delete finished files instead of renaming them', false)
    .option('--state <dir>', 'where progress is checkpointed (default: <dir>/.tsf-spool)')
    .option('--quarantine <dir>', 'where files that cannot be ingested are moved (default: <dir>/.tsf-quarantine)')
    .option('--once', 'ingest the files there now, exit 0 once all are acked (cron jobs)', false)
    .addOption(
      new Option('--poll-interval <duration>', 'how often the directory is listed')
        .default(500, '500ms')
        .argParser(duration('--poll-interval')),
    )
    .addOption(
      new Option('--checkpoint-interval <duration>', 'how often acked positions are saved (one fsync for all files)')
        .default(200, '200ms')
        .argParser(duration('--checkpoint-interval')),
    )
  addSourceOptions(cmd)
  addRunnerOptions(cmd)
  return cmd.action(async (dirOperand: string, options: SpoolOptions) => {
    const ignore = userRegex('--ignore', options.ignore)
    refuseZeroMaxLine(options)
    if (options.pollInterval < 1) throw new UsageError('--poll-interval: must be more than 0')
    if (!options.delete && !options.doneSuffix)
      throw new UsageError('--done-suffix: must not be empty (use --delete to delete finished files)')
    const dir = resolve(dirOperand)
    const config = {
      dir,
      stateDir: resolve(options.state ?? join(dir, '.tsf-spool')),
      quarantineDir: resolve(options.quarantine ?? join(dir, '.tsf-quarantine')),
      order: options.order,
      settle: options.settle,
      ignore,
      recurse: options.recurse,
      doneSuffix: options.doneSuffix,
      deleteDone: options.delete,
      once: options.once,
      pollInterval: options.pollInterval,
      read: { maxLine: options.maxLine, truncate: options.truncate, host: options.host, headers: options.header ?? {} },
      window: options.window,
      checkpointInterval: options.checkpointInterval,
      shutdownTimeout: options.shutdownTimeout,
    }
    process.exitCode = await runCommand(
      { component: 'spool', shutdownTimeout: options.shutdownTimeout, metrics: options.metrics },
      async (rt) => (await import('../sources/spool/engine.js')).runSpool(config, rt),
    )
  })
}
