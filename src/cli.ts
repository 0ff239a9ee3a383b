import { Command, CommanderError } from 'commander'
import { readFileSync } from 'node:fs'
import { makeChannelCommand } from './commands/channel.js'
import { makeCollectCommand } from './commands/collect.js'
import { makeCompletionCommand } from './commands/completion.js'
import { makeDemoCommand } from './commands/demo.js'
import { makeExecCommand } from './commands/exec.js'
import { makeRollCommand } from './commands/roll.js'
import { makeShipCommand } from './commands/ship.js'
import { makeSpoolCommand } from './commands/spool.js'
import { makeTailCommand } from './commands/tail.js'
import { makeTopCommand } from './commands/top.js'
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
  makeShipCommand,
  makeCollectCommand,
  makeRollCommand,
  makeTopCommand,
  makeDemoCommand,
  makeCompletionCommand,
]

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

export const makeProgram = (): Command => {
  const program = new Command('tsf')
    .description('log collection as small Unix commands: sources, a durable channel and sinks joined by pipes and TCP')
    .version(version(), '-V, --version')
    .showSuggestionAfterError(true)
    // options after a command name are that command's (exec passes its command's options through)
    .enablePositionalOptions()
    .addHelpText('after', `
Examples:
  tsf tail -F /var/log/app.log | tsf channel --dir /var/spool/tsf/q | tsf ship c1:52020,c2:52020
  tsf collect --listen 0.0.0.0:52020 --token-file /etc/tsf/token | tsf roll /data/logs
  tsf collect --print

Events are newline-delimited JSON; see man tsf and docs/protocol.md.`)
  for (const make of commandFactories) program.addCommand(make())
  program.exitOverride()
  const output = { writeOut: writeHelp, writeErr: (s: string) => process.stderr.write(s) }
  program.configureOutput(output)
  for (const cmd of program.commands) {
    cmd.exitOverride()
    cmd.configureOutput(output)
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
