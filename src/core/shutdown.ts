import { warn } from './log.js'

// One shutdown signal for the whole command (docs/design.md §5): the first SIGINT/SIGTERM aborts it
// (stop input, drain, wait for acks up to --shutdown-timeout, save checkpoints, exit 0); a second
// one exits at once with 128+signal.
export interface Shutdown {
  signal: AbortSignal
  // which signal started the shutdown, if any
  readonly by: NodeJS.Signals | undefined
  dispose(): void
}

const signalNumbers: Partial<Record<NodeJS.Signals, number>> = { SIGINT: 2, SIGTERM: 15 }

export const onShutdown = (): Shutdown => {
  const controller = new AbortController()
  let by: NodeJS.Signals | undefined
  const handler = (sig: NodeJS.Signals): void => {
    if (by) {
      warn(`second ${sig}: exiting now`)
      process.exit(128 + (signalNumbers[sig] ?? 15))
    }
    by = sig
    controller.abort()
  }
  process.on('SIGINT', handler)
  process.on('SIGTERM', handler)
  return {
    signal: controller.signal,
    get by() {
      return by
    },
    dispose() {
      process.off('SIGINT', handler)
      process.off('SIGTERM', handler)
    },
  }
}

// Resolves when the signal aborts (never rejects).
export const aborted = (signal: AbortSignal): Promise<void> =>
  signal.aborted ? Promise.resolve() : new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }))
