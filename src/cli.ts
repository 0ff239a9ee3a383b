import { Command, CommanderError } from 'commander'
import { readFileSync } from 'node:fs'
import { makeChannelCommand } from './commands/channel.js'
import { makeCollectCommand } from './commands/collect.js'
import { makeCompletionCommand } from './commands/completion.js'
import { makeDemoCommand } from './commands/demo.js'
import { makeExecCommand } from './commands/exec.js'
import { makeFilterCommand } from './commands/filter.js'
import { makeRollCommand } from './commands/roll.js'
import { makeShipCommand } from './commands/ship.js'
import { makeSpoolCommand } from './commands/spool.js'
import { makeTailCommand } from './commands/tail.js'
import { describeSystemError, isTsfError } from './core/errors.js'
import { ExitCode } from './core/exit-codes.js'
import { error, setLogPrefix } from './core/log.js'

const version = (): string =>
  (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version

// Every command, in the order `tsf --help` lists them. Each factory lives in src/commands/<cmd>.ts
// and only turns options into a typed config for an engine.
export const commandFactories: (() => Command)[] = [
  makeTailCommand,
  makeSpoolCommand,
  makeExecCommand,
  makeChannelCommand,
  makeFilterCommand,
  makeShipCommand,
  makeCollectCommand,
  makeRollCommand,
  makeDemoCommand,
  makeCompletionCommand,
]

export const makeProgram = (): Command => {
  const program = new Command('tsf')
    .description('log collection as small Unix commands: sources, a durable channel and sinks joined by pipes and TCP')
    .version(version(), '-V, --version')
    .showSuggestionAfterError(true)
    .addHelpText('after', `
Examples:
  tsf tail -F /var/log/app.log | tsf channel --dir /var/spool/tsf/q | tsf ship c1:52020,c2:52020
  tsf collect --listen 0.0.0.0:52020 --token-file /etc/tsf/token | tsf roll /data/logs
  tsf collect --print

Events are newline-delimited JSON; see man tsf and docs/protocol.md.`)
  for (const make of commandFactories) program.addCommand(make())
  program.exitOverride()
  program.configureOutput({ writeErr: (s) => process.stderr.write(s) })
  for (const cmd of program.commands) {
    cmd.exitOverride()
    cmd.hook('preAction', () => setLogPrefix(`tsf ${cmd.name()}`))
  }
  return program
}

export const main = async (argv: string[]): Promise<void> => {
  const program = makeProgram()
  try {
    await program.parseAsync(argv)
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version are not failures; commander already printed its one-line error
      process.exitCode = e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' ? 0 : ExitCode.usage
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
        process.exitCode = 70
      }
    }
  }
}
