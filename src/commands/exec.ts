import { Command, Option } from '../core/commander.js'
import { UsageError } from '../core/errors.js'
import { runCommand } from '../core/runtime.js'
import { addRunnerOptions, addSourceOptions, duration, refuseZeroMaxLine, type RunnerOptions, type SourceFlags } from './common.js'

interface ExecOptions extends RunnerOptions, SourceFlags {
  stderr: boolean
  restart: boolean
  restartDelay: number
  killAfter: number
  shell: boolean
}

export const makeExecCommand = (): Command => {
  const cmd = new Command('exec')
    .usage('[options] -- <command> [args...]')
    .description('run a command and make each line it prints an event (at-most-once: a command cannot replay; for files use tail or spool)')
    .argument('<command>', 'the command to run (put -- before it when it has options of its own)')
    .argument('[args...]', 'its arguments')
    // words after the command are its own, never ours: `tsf exec tail -F x` is caught below with
    // the line to type instead of commander's bare "unknown option '-F'"
    .passThroughOptions()
    .option(
      '--stderr',
      'make stderr lines events too (header stream=stderr; stdout ones get stream=stdout); otherwise stderr passes through',
      false,
    )
    .option('--restart', 'start the command again whenever it exits', false)
    .addOption(
      new Option('--restart-delay <duration>', 'wait this long before a restart')
        .default(10_000, '10s')
        .argParser(duration('--restart-delay')),
    )
    .addOption(
      new Option('--kill-after <duration>', 'after SIGTERM, how long the command has to exit before SIGKILL')
        .default(5000, '5s')
        .argParser(duration('--kill-after')),
    )
    .option('--shell', 'run the command through /bin/sh -c (pipes, globs, variables)', false)
  addSourceOptions(cmd, { window: "most bytes of events written but not yet acked; the command's output is not read beyond it" })
  addRunnerOptions(cmd)
  return cmd.action(async (file: string, args: string[], options: ExecOptions) => {
    refuseZeroMaxLine(options)
    if (!file) throw new UsageError('exec: expected a command to run, as in: tsf exec -- tail -F app.log')
    requireDashDashBeforeOptions(cmd, file, args)
    const config = {
      file,
      args,
      shell: options.shell,
      stderr: options.stderr,
      restart: options.restart,
      restartDelay: options.restartDelay,
      killAfter: options.killAfter,
      maxLine: options.maxLine,
      truncate: options.truncate,
      host: options.host,
      headers: options.header ?? {},
      window: options.window,
      shutdownTimeout: options.shutdownTimeout,
    }
    process.exitCode = await runCommand(
      { component: 'exec', shutdownTimeout: options.shutdownTimeout, metrics: options.metrics },
      async (rt) => (await import('../sources/exec/engine.js')).runExec(config, rt),
    )
  })
}

// `tsf exec tail -F x`: the command's options would be taken for exec's own by a reader (and by
// older tsf), so they need `--` before the command; say exactly what to type.
const requireDashDashBeforeOptions = (cmd: Command, file: string, args: string[]): void => {
  const raw = (cmd.parent as unknown as { rawArgs?: string[] } | null)?.rawArgs ?? []
  const words = raw.slice(raw.indexOf('exec') + 1)
  const dashes = words.indexOf('--')
  const at = words.indexOf(file)
  if ((dashes !== -1 && dashes < at) || !args.some((a) => a.startsWith('-'))) return
  const quote = (w: string): string => (/^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`)
  const fixed = [...words.slice(0, at), '--', ...words.slice(at)].map(quote).join(' ')
  throw new UsageError(
    `'${args.find((a) => a.startsWith('-'))}' is an option of ${file}, not of tsf exec: put -- before the command, as in: tsf exec ${fixed}`,
  )
}
