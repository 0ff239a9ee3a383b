import { Option, type Command } from '../core/commander.js'
import { hostname } from 'node:os'
import { UsageError } from '../core/errors.js'
import { parseCount, parseDuration, parseHostPort, parseSize } from '../core/units.js'

// Option parsers that turn malformed values into one-line usage errors (exit 2).
export const duration =
  (option: string) =>
  (value: string): number =>
    parseDuration(value, option)
export const size =
  (option: string) =>
  (value: string): number =>
    parseSize(value, option)
export const count =
  (option: string) =>
  (value: string): number =>
    parseCount(value, option)
export const hostPort = (option: string) => (value: string) => parseHostPort(value, option)
export const collect =
  <T>(parse: (v: string) => T) =>
  (value: string, previous: T[] = []): T[] => [...previous, parse(value)]

// -H K=V, repeatable (Flume's static interceptor).
export const header = (value: string, previous: Record<string, string> = {}): Record<string, string> => {
  const at = value.indexOf('=')
  if (at <= 0) throw new UsageError(`--header: expected KEY=VALUE, got '${value}'`)
  return { ...previous, [value.slice(0, at)]: value.slice(at + 1) }
}

export const choice =
  (option: string, choices: readonly string[]) =>
  (value: string): string => {
    if (!choices.includes(value)) throw new UsageError(`${option}: expected one of ${choices.join(', ')}, got '${value}'`)
    return value
  }

// Whether an option was given (on the command line or from the environment), not left at its default.
export const given = (cmd: Command, name: string): boolean => {
  const source = cmd.getOptionValueSource(name)
  return source !== undefined && source !== 'default'
}

// commander's attribute name back to the option's: tokenFile → --token-file.
export const optionName = (name: string): string => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`

// Refuses the first of `names` (commander attribute names) that was given: `why` completes the
// message after the option, e.g. 'does not apply to kafka:// destinations'.
export const refuseGiven = (cmd: Command, names: readonly string[], why: string, hint: (name: string) => string = () => ''): void => {
  for (const name of names) {
    if (given(cmd, name)) throw new UsageError(`${optionName(name)} ${why}${hint(name)}`)
  }
}

export type { ReaderOptions, RunnerOptions } from '../core/stage-options.js'

// Options every command that reads events on stdin shares.
export const addReaderOptions = (cmd: Command): Command =>
  cmd
    .addOption(
      new Option('--max-line <size>', 'longest line kept whole; longer ones are cut into pieces marked "cont"')
        .default(1024 * 1024, '1M')
        .argParser(size('--max-line')),
    )
    .option('--truncate', 'drop the rest of an oversize line instead of cutting it into pieces', false)

// The flags of every source that makes events from lines (tail, spool, exec).
export interface SourceFlags {
  header?: Record<string, string>
  host: string
  maxLine: number
  truncate: boolean
  window: number
}

export const addSourceOptions = (cmd: Command, help: { maxLine?: string; window?: string } = {}): Command =>
  cmd
    .option('-H, --header <K=V>', 'a static header on every event (repeatable)', header)
    .option('--host <name>', 'the host field of every event', hostname())
    .addOption(
      new Option('--max-line <size>', help.maxLine ?? 'longest line kept whole; longer ones are cut into pieces marked "cont"')
        .default(1024 * 1024, '1M')
        .argParser(size('--max-line')),
    )
    .option('--truncate', 'drop the rest of an oversize line instead of cutting it into pieces', false)
    .addOption(
      new Option('--window <size>', help.window ?? 'most bytes of events written but not yet acked; reading pauses beyond it')
        .default(8 * 1024 * 1024, '8M')
        .argParser(size('--window')),
    )

export const refuseZeroMaxLine = (flags: Pick<SourceFlags, 'maxLine'>): void => {
  if (flags.maxLine < 1) throw new UsageError('--max-line: must be at least 1 byte')
}

// Options every long-running command shares.
export const addRunnerOptions = (cmd: Command): Command =>
  cmd
    .addOption(
      new Option('--shutdown-timeout <duration>', 'on SIGTERM or end of input, how long to wait for acks')
        .default(30_000, '30s')
        .argParser(duration('--shutdown-timeout')),
    )
    .addOption(
      new Option('--metrics <host:port>', "serve counters (Flume's names) as JSON and Prometheus text").argParser(hostPort('--metrics')),
    )
