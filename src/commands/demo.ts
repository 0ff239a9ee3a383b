import { Command, Option } from '../core/commander.js'
import { count, duration } from './common.js'

export const makeDemoCommand = (): Command =>
  new Command('demo')
    .description('run a local agent → collector chain on a generated log (tail, channel, ship, collect, roll)')
    .addOption(new Option('--out <dir>', 'where the demo keeps its log, state, channel and output').default('demo-out'))
    .option('--print', 'show the collected events on the console (collect --print) instead of rolling them into files', false)
    .addOption(new Option('--rate <lines>', 'access-log lines written per second').default(200).argParser(count('--rate')))
    .addOption(
      new Option('--duration <duration>', 'stop by itself after this long (default: run until Ctrl-C)').argParser(duration('--duration')),
    )
    .addHelpText(
      'after',
      '\nExamples:\n  npx tsf demo                 # Ctrl-C to stop; output in ./demo-out/logs\n  npx tsf demo --print         # watch the events arrive\n  npx tsf demo --duration 10s',
    )
    .action(async (opts: { out: string; print: boolean; rate: number; duration?: number }) => {
      process.exitCode = await (await import('../demo/run-demo.js')).runDemo(opts)
    })
