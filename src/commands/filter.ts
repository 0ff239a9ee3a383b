import { Command } from '../core/commander.js'
import { UsageError } from '../core/errors.js'
import { runCommand } from '../core/runtime.js'
import {
  dropBody,
  dropIf,
  extract,
  keepBody,
  keepIf,
  removeHeader,
  renameHeader,
  setHeader,
  setHost,
  staticHeader,
  thisHost,
  thisHostIp,
  tsFromBody,
  tsFromField,
  tsNow,
  type Step,
} from '../transforms/steps.js'
import { addReaderOptions, addRunnerOptions, type ReaderOptions, type RunnerOptions } from './common.js'

// The options that are steps, in the order they build the chain (commander reports each
// occurrence as an 'option:NAME' event, in argv order).
const STEP_OPTIONS = [
  'keep',
  'drop',
  'keep-if',
  'drop-if',
  'extract',
  'header',
  'set',
  'remove-header',
  'rename-header',
  'host',
  'host-ip',
  'ts-now',
  'ts-field',
  'ts-regex',
  'ts-format',
] as const

const stepOf = (name: (typeof STEP_OPTIONS)[number], value: string): Step => {
  switch (name) {
    case 'keep':
      return keepBody(value)
    case 'drop':
      return dropBody(value)
    case 'keep-if':
      return keepIf(value)
    case 'drop-if':
      return dropIf(value)
    case 'extract':
      return extract(value)
    case 'header':
      return staticHeader(value)
    case 'set':
      return setHeader(value)
    case 'remove-header':
      return removeHeader(value)
    case 'rename-header':
      return renameHeader(value)
    case 'host':
      return setHost(value || thisHost())
    case 'host-ip':
      return setHost(thisHostIp())
    case 'ts-now':
      return tsNow()
    case 'ts-field':
      return tsFromField(value)
    case 'ts-regex':
      return tsFromBody(value, undefined)
    case 'ts-format':
      return tsFromBody(undefined, value)
  }
}

// --ts-regex R --ts-format F next to each other are one step: the format reads the group.
const buildSteps = (given: [(typeof STEP_OPTIONS)[number], string][]): Step[] => {
  const steps: Step[] = []
  for (let i = 0; i < given.length; i++) {
    const [name, value] = given[i]!
    const next = given[i + 1]
    if (name === 'ts-regex' && next?.[0] === 'ts-format') {
      steps.push(tsFromBody(value, next[1]))
      i++
    } else steps.push(stepOf(name, value))
  }
  return steps
}

export const makeFilterCommand = (): Command => {
  const given: [(typeof STEP_OPTIONS)[number], string][] = []
  const cmd = new Command('filter')
    .description(
      "keep, drop and reshape events between two tsf commands (Flume's interceptors), staying end to end: dropped events are acked at once, kept ones once the next stage acked them",
    )
    .option('--keep <regex>', 'keep only events whose body matches (regex_filter)')
    .option('--drop <regex>', 'drop events whose body matches (regex_filter, excludeEvents)')
    .option(
      '--keep-if <cond>',
      'keep only events where FIELD=VALUE or FIELD~REGEX holds (FIELD: body, host, src, headers.NAME, ...): one route of a multiplexing selector',
    )
    .option('--drop-if <cond>', 'drop events where FIELD=VALUE or FIELD~REGEX holds')
    .option('--extract <regex>', 'the named groups of a match on the body become headers: (?<level>[A-Z]+) (regex_extractor)')
    .option('-H, --header <K=V>', 'a static header, kept when the event has one already (static, preserveExisting)')
    .option('--set <K=V>', 'a header, replacing the value the event has (static)')
    .option('--remove-header <name>', 'remove a header, or every header matching /REGEX/ (remove_header)')
    .option('--rename-header <OLD=NEW>', 'rename a header')
    .option('--host [name]', "set the host field (default: this machine's name) (host)")
    .option('--host-ip', "set the host field to this machine's IP address (host, useIP)")
    .option('--ts-now', 'set ts to the time the filter saw the event (timestamp)')
    .option('--ts-field <field>', 'set ts from a field: headers.NAME or a top-level field, epoch s or ms or ISO 8601 (timestamp)')
    .option('--ts-regex <regex>', 'set ts from the first capture group (or the group named ts) of this on the body')
    .option(
      '--ts-format <format>',
      'set ts from the body read with this strftime-like format (%Y %m %d %H %M %S %f %b %z %s) or clf, syslog, iso8601, epoch, epoch-ms; right after --ts-regex it reads that group',
    )
  addReaderOptions(cmd)
  addRunnerOptions(cmd)
  for (const name of STEP_OPTIONS)
    cmd.on(`option:${name}`, (value: string | undefined) => given.push([name, typeof value === 'string' ? value : '']))
  cmd.addHelpText(
    'after',
    `
Options apply in the order given, like a chain of Flume interceptors.

Examples:
  tsf tail -F app.log | tsf filter --drop DEBUG --extract '(?<level>[A-Z]+):' | tsf ship c1:52020
  tsf collect --listen :52020 | tsf filter -H dc=eu1 --host-ip --ts-format clf | tsf roll /data/logs
  tsf channel --dir q --read-only --reader db | tsf filter --keep-if headers.type=db | tsf roll /data/db

See man tsf-filter and docs/filter.md.`,
  )
  return cmd.action(async (flags: ReaderOptions & RunnerOptions) => {
    const steps = buildSteps(given)
    if (!steps.length) throw new UsageError('no step given: say what to keep, drop or set (see tsf filter --help)')
    process.exitCode = await runCommand(
      { component: 'filter', shutdownTimeout: flags.shutdownTimeout, metrics: flags.metrics },
      async (rt) =>
        // the engine loads when it runs, not with --help or a usage error
        (await import('../transforms/engine.js')).runFilter(
          { steps, maxLine: flags.maxLine, truncate: flags.truncate, shutdownTimeout: flags.shutdownTimeout },
          rt,
        ),
    )
  })
}
