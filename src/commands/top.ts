import { Command, Option } from '../core/commander.js'
import { colourFor } from '../core/colour.js'
import { UsageError } from '../core/errors.js'
import { SORT_KEYS } from '../top/fleet.js'
import type { TopConfig } from '../top/run.js'
import { parseTarget } from '../top/sample.js'
import { choice, duration } from './common.js'

type TopOptions = Omit<TopConfig, 'targets' | 'colour'>

export const makeTopCommand = (): Command => {
  const cmd = new Command('top')
    .description("a live view of a fleet from its collectors' --metrics endpoints: every collector and every agent connected to them")
    .argument('<collector...>', 'the --metrics address (host:port) of each collector; several, space- or comma-separated')
    .addOption(
      new Option('--interval <duration>', 'how often the view is refreshed (and the span rates are measured over)')
        .default(2000, '2s')
        .argParser(duration('--interval')),
    )
    .addOption(
      new Option('--timeout <duration>', 'how long a collector has to answer before it is shown as down')
        .default(1500, '1.5s')
        .argParser(duration('--timeout')),
    )
    .option(
      '--once',
      'look twice, one --interval apart (for rates), print the view once and exit (exit 1 when no collector answered)',
      false,
    )
    .option('--json', 'print the view as JSON (one object per refresh; with --once, one object)', false)
    .addOption(
      new Option('--sort <key>', `order of the agents, worst first: ${SORT_KEYS.join(', ')}`)
        .default('lag')
        .argParser(choice('--sort', SORT_KEYS)),
    )
    .option('--filter <text>', 'only agents whose name, host, address or collector contains this (case-insensitive)')
    .addHelpText(
      'after',
      `
On a terminal the view is redrawn in place; q quits, s changes the sort. Agents appear through the
collectors they send to: each tsf ship reports its state (events pending, failovers, its last error,
and with --report-upstream the lag of its tail and the backlog of its channel).

Examples:
  tsf top c1:9100 c2:9100
  tsf top c1:9100 --once --sort pending
  tsf top c1:9100,c2:9100 --once --json | jq '.agents[] | select(.lagBytes > 0)'

See man tsf-top and docs/top.md.`,
    )
  return cmd.action(async (operands: string[], options: TopOptions) => {
    const targets = operands
      .flatMap((o) => o.split(','))
      .filter(Boolean)
      .map(parseTarget)
    if (targets.length === 0) throw new UsageError('expected the --metrics address of at least one collector, as in: tsf top c1:9100')
    if (options.interval < 100) throw new UsageError('--interval: at least 100ms')
    process.exitCode = await (await import('../top/run.js')).runTop({ ...options, targets, colour: colourFor(process.stdout) })
  })
}
