import { ExitCode } from './exit-codes.js'
import type { EventInput, InputOptions } from './link/reader.js'
import type { EventOutput, OutputOptions } from './link/writer.js'
import { info, warn } from './log.js'
import type { Counters } from './metrics.js'

// What every streaming command gets: one stop signal (SIGINT/SIGTERM, or a `| head` that went
// away), counters served by --metrics, and the two ends of the ack link when it uses them.
export interface Runtime {
  // aborted when the command should stop taking input and drain
  stop: AbortSignal
  // true once the stop came from a signal (exit 0 after draining, docs/design.md §5)
  readonly bySignal: boolean
  counters: Counters
  // opened on demand: commands that read stdin / write events to stdout
  input(options?: InputOptions): EventInput
  output(options?: OutputOptions): Promise<EventOutput>
  // synchronous saves of what downstream acked, run before an exit that cannot drain (the linked
  // reader went away: exit at once), so a restart does not send it again
  atAbruptExit(save: () => void): void
}

export interface RuntimeOptions {
  component: string
  shutdownTimeout: number
  metrics?: { host: string; port: number }
}

// Runs a command body and turns its outcome into the process exit code. The body returns the
// exit code it wants; expected failures throw TsfError (printed by the CLI on one line).
export const runCommand = async (options: RuntimeOptions, body: (rt: Runtime) => Promise<number>): Promise<number> => {
  // what a command runs with loads when it runs, not with its --help (every command imports this
  // module for its action: BENCHMARKS.md, branch boot); the signal handlers first, so a SIGTERM
  // while the rest loads is a clean stop (exit 0), not node's default death (143)
  const { onShutdown } = await import('./shutdown.js')
  const shutdown = onShutdown()
  const [{ Counters, serveMetrics }, { EventInput }, { EventOutput }, { capYoungGeneration }] = await Promise.all([
    import('./metrics.js'),
    import('./link/reader.js'),
    import('./link/writer.js'),
    import('./young-gen.js'),
  ])
  const stopper = new AbortController()
  shutdown.signal.addEventListener('abort', () => stopper.abort(), { once: true })
  const counters = new Counters(options.component)
  let input: EventInput | undefined
  let output: EventOutput | undefined
  const abruptSaves: (() => void)[] = []
  const metrics = options.metrics ? await serveMetrics(options.metrics, counters) : undefined
  // before the stream starts: a stage's young generation stops at 4 MiB (its peak RSS, young-gen.ts)
  capYoungGeneration()
  const rt: Runtime = {
    stop: stopper.signal,
    get bySignal() {
      return shutdown.by !== undefined
    },
    counters,
    input(inputOptions) {
      if (input) return input
      const created = new EventInput(inputOptions)
      created.on('upstream-lost', () => {
        warn(
          'the tsf writer upstream went away without a clean end (it or a stage before it died): finishing what we hold, then exiting non-zero',
        )
        output?.markUpstreamLost()
      })
      stopper.signal.addEventListener('abort', () => created.stop(), { once: true })
      // what our writers may write whole, we may forward whole: tell our reader before we do
      created.on('max-line', (bytes: number) => output?.raiseMaxLine(bytes))
      output?.raiseMaxLine(created.maxLine)
      return (input = created)
    },
    async output(outputOptions) {
      // a stage that forwards events writes lines as long as it reads (its --max-line, or more if
      // its writers said so)
      const forwarded = Math.max(input?.maxLine ?? 0, input?.toldMaxLine ?? 0)
      const maxLine = Math.max(outputOptions?.maxLine ?? 0, forwarded) || undefined
      if (!output) {
        // 1 MiB (256 KiB unprivileged) instead of 64 KiB: the reader takes ~5 times more a wake-up
        // (pipe-size.ts); before the writer looks at who holds the pipe, so its helper is gone by
        // then. TSF_PIPE_SIZE=0: not
        if (!outputOptions?.stream && process.env.TSF_PIPE_SIZE !== '0') {
          const { widenPipe } = await import('./pipe-size.js')
          await widenPipe(outputOptions?.fd ?? 1)
        }
        output = await new EventOutput({ ...outputOptions, ...(maxLine ? { maxLine } : {}) }).open()
      }
      if (input?.upstreamLost) output.markUpstreamLost()
      output.on('downstream-lost', (error: Error) => {
        for (const save of abruptSaves) {
          try {
            save()
          } catch (e) {
            warn(`could not save what was acked before exiting: ${(e as Error).message} (it is sent again after a restart)`)
          }
        }
        if (shutdown.by) {
          // the whole pipeline was stopped (systemd sends SIGTERM to every stage): say what stays upstream
          const left = output?.unacked ?? 0
          if (left)
            info(
              `stopped on ${shutdown.by}; ${left} event(s) not acked by the tsf reader of our stdout, which stopped too: not checkpointed, read again after a restart`,
            )
          else info(`stopped on ${shutdown.by}`)
          process.exit(ExitCode.ok)
        }
        warn(`${error.message}: stopping (nothing was checkpointed past its acks)`)
        process.exit(ExitCode.downstreamLost)
      })
      // `| head` went away: stop quietly, EPIPE is not an error
      output.on('closed', () => stopper.abort())
      return output
    },
    atAbruptExit(save) {
      abruptSaves.push(save)
    },
  }
  try {
    let code = await body(rt)
    if (code === ExitCode.ok && input?.upstreamLost) code = ExitCode.upstreamLost
    return code
  } finally {
    if (shutdown.by) info(`stopped on ${shutdown.by}`)
    input?.close()
    output?.close()
    metrics?.close()
    shutdown.dispose()
  }
}
