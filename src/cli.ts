import { Command, CommanderError } from './core/commander.js'
import { readFileSync } from 'node:fs'
import { describeSystemError, isTsfError } from './core/errors.js'
import { ExitCode } from './core/exit-codes.js'
import { error, setLogPrefix } from './core/log.js'

const version = (): string => (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version

// Every command, in the order `tsf --help` lists them. Each factory lives in src/commands/<cmd>.ts
// and only turns options into a typed config for an engine. They load on demand: `tsf tail ...`
// loads tail's modules only (start-up CPU and memory are what every stage of a pipeline pays).
const commandLoaders: Record<string, () => Promise<() => Command>> = {
  tail: async () => (await import('./commands/tail.js')).makeTailCommand,
  spool: async () => (await import('./commands/spool.js')).makeSpoolCommand,
  exec: async () => (await import('./commands/exec.js')).makeExecCommand,
  channel: async () => (await import('./commands/channel.js')).makeChannelCommand,
  filter: async () => (await import('./commands/filter.js')).makeFilterCommand,
  ship: async () => (await import('./commands/ship.js')).makeShipCommand,
  collect: async () => (await import('./commands/collect.js')).makeCollectCommand,
  roll: async () => (await import('./commands/roll.js')).makeRollCommand,
  top: async () => (await import('./commands/top.js')).makeTopCommand,
  demo: async () => (await import('./commands/demo.js')).makeDemoCommand,
  completion: async () => (await import('./commands/completion.js')).makeCompletionCommand,
}

export const commandNames = Object.keys(commandLoaders)

// The factories of the named commands (all of them by default), in the order of commandNames.
export const loadCommandFactories = async (names: string[] = commandNames): Promise<(() => Command)[]> =>
  Promise.all(commandNames.filter((n) => names.includes(n)).map((n) => commandLoaders[n]!()))

// Help and version text on stdout: a reader that stops early (`tsf --help | head -1`) is not an
// error, so EPIPE ends the write quietly instead of as an unhandled 'error' event.
let helpErrorsHandled = false
const writeHelp = (s: string): void => {
  if (!helpErrorsHandled) {
    helpErrorsHandled = true
    process.stdout.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code !== 'EPIPE') process.stderr.write(`tsf: stdout: ${e.message}\n`)
    })
  }
  process.stdout.write(s)
}

// The program with every command (help, docs checks, completions), or with the given ones only.
export const makeProgram = async (names: string[] = commandNames): Promise<Command> => {
  const factories = await loadCommandFactories(names)
  const program = new Command('tsf')
    .description('log collection as small Unix commands: sources, a durable channel and sinks joined by pipes and TCP')
    .version(version(), '-V, --version')
    .showSuggestionAfterError(true)
    // options after a command name are that command's (exec passes its command's options through)
    .enablePositionalOptions()
    .addHelpText(
      'after',
      `
Examples:
  tsf tail -F /var/log/app.log | tsf channel --dir /var/spool/tsf/q | tsf ship c1:52020,c2:52020
  tsf collect --listen 0.0.0.0:52020 --token-file /etc/tsf/token | tsf roll /data/logs
  tsf collect --print

Events are newline-delimited JSON; see man tsf and docs/protocol.md.`,
    )
  for (const make of factories) program.addCommand(make())
  program.exitOverride()
  const output = (name: string) => ({
    writeOut: writeHelp,
    writeErr: (s: string) => process.stderr.write(s),
    // a usage error is one line naming its stage (`tsf ship: error: unknown option ...`): in a
    // pipeline of tsf commands a bare "error: ..." does not say which one refused its options
    outputError: (s: string, write: (s: string) => void) => write(`${name}: ${s.trimEnd().replace(/\n+/g, ' ')} (see ${name} --help)\n`),
  })
  program.configureOutput(output('tsf'))
  for (const cmd of program.commands) {
    cmd.exitOverride()
    cmd.configureOutput(output(`tsf ${cmd.name()}`))
    cmd.hook('preAction', () => setLogPrefix(`tsf ${cmd.name()}`))
  }
  return program
}

// The command a command line names: its first word that is not an option.
const commandOf = (argv: string[]): string | undefined => argv.slice(2).find((a) => !a.startsWith('-'))

export const main = async (argv: string[]): Promise<void> => {
  // Made now, before the ack link opens a socket of its own on a piped fd 1: node's process.stdout
  // getter, first read later (Readable.pipe reads it), would fail with EEXIST once that socket
  // polls fd 1. chalk's import of node:process used to make it at start-up by accident.
  void process.stdout
  const named = commandOf(argv)
  const known = named !== undefined && named in commandLoaders
  // option values are checked while commander parses, before any action hook: name the stage now
  if (known) setLogPrefix(`tsf ${named}`)
  // `tsf --version` needs no command: loading all of them made it the heaviest start of all
  const versionOnly = argv.length === 3 && (argv[2] === '--version' || argv[2] === '-V')
  const program = await makeProgram(known ? [named] : versionOnly ? [] : commandNames)
  try {
    await program.parseAsync(argv)
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version are not failures; commander already printed its one-line error
      process.exitCode =
        e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' ? ExitCode.ok : ExitCode.usage
    } else if (isTsfError(e)) {
      error(e.message)
      process.exitCode = e.exitCode
    } else {
      const err = e as NodeJS.ErrnoException
      if (err && typeof err.code === 'string') {
        error(describeSystemError(err))
        process.exitCode = ExitCode.failure
      } else {
        // a bug: keep the stack, it is the only way to find it
        process.stderr.write(`tsf: internal error: ${(err as Error)?.stack ?? String(err)}\n`)
        process.exitCode = ExitCode.internalError
      }
    }
  }
}
