import { ExitCode } from '../core/exit-codes.js'
import { buildFleet, filterAgents, sortAgents, SORT_KEYS, type Fleet, type SortKey } from './fleet.js'
import { render } from './render.js'
import { sampleAll, type CollectorSample, type CollectorTarget } from './sample.js'

export interface TopConfig {
  targets: CollectorTarget[]
  interval: number
  timeout: number
  once: boolean
  json: boolean
  sort: SortKey
  filter?: string
  colour: boolean
}

const ENTER_SCREEN = '\x1b[?1049h\x1b[?25l'
const LEAVE_SCREEN = '\x1b[?25h\x1b[?1049l'

// tsf top: the fleet seen from its collectors' --metrics endpoints. On a terminal the view is
// redrawn in place every --interval (q quits, s changes the sort); otherwise, or with --once, it is
// printed as text or JSON, for scripts.
export const runTop = async (config: TopConfig): Promise<number> => {
  const stop = new AbortController()
  const onSignal = (): void => stop.abort()
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  // a reader that went away (`tsf top --json | head -1`) ends the view quietly
  const onStdoutError = (): void => stop.abort()
  process.stdout.on('error', onStdoutError)
  const interactive = !config.once && !config.json && Boolean(process.stdout.isTTY)
  let sort = config.sort
  const keys =
    interactive && process.stdin.isTTY
      ? listenForKeys(stop, () => {
          sort = SORT_KEYS[(SORT_KEYS.indexOf(sort) + 1) % SORT_KEYS.length]!
          wake()
        })
      : undefined
  let wake = (): void => undefined
  const pause = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const timer = setTimeout(done, ms)
      function done(): void {
        clearTimeout(timer)
        stop.signal.removeEventListener('abort', done)
        resolve()
      }
      wake = done
      stop.signal.addEventListener('abort', done, { once: true })
    })

  const show = (fleet: Fleet): void => {
    const shown = sortAgents(filterAgents(fleet.agents, config.filter), sort)
    if (config.json) {
      process.stdout.write(JSON.stringify({ at: fleet.at, collectors: fleet.collectors, agents: shown }) + '\n')
      return
    }
    const lines = render(fleet, {
      colour: config.colour,
      width: process.stdout.columns || Number.POSITIVE_INFINITY,
      sort,
      filter: config.filter,
      shown,
    })
    if (interactive) {
      const height = process.stdout.rows || 50
      const help = '\x1b[2mq quits, s changes the sort\x1b[22m'
      process.stdout.write(
        `\x1b[H${[...lines.slice(0, height - 2), '', config.colour ? help : 'q quits, s changes the sort'].join('\x1b[K\n')}\x1b[K\x1b[J`,
      )
    } else process.stdout.write(`${lines.join('\n')}\n${config.once ? '' : '\n'}`)
  }

  if (interactive) process.stdout.write(ENTER_SCREEN)
  let previous: CollectorSample[] | undefined
  let last: Fleet | undefined
  let anyUp = false
  try {
    // rates need two looks: the first view comes one interval after the first sample
    previous = await sampleAll(config.targets, config.timeout)
    if (interactive) show(buildFleet(previous))
    while (!stop.signal.aborted) {
      await pause(config.interval)
      if (stop.signal.aborted) break
      const samples = await sampleAll(config.targets, config.timeout)
      const fleet = buildFleet(samples, previous, last)
      previous = samples
      last = fleet
      anyUp = fleet.collectors.some((c) => c.up)
      show(fleet)
      if (config.once) break
    }
  } finally {
    if (interactive) process.stdout.write(LEAVE_SCREEN)
    keys?.()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  // --once: scripts learn from the exit code whether any collector answered
  return config.once && !anyUp ? ExitCode.failure : ExitCode.ok
}

// Raw keys on a terminal: q (or Ctrl-C) quits, s cycles the sort. Returns the undo.
const listenForKeys = (stop: AbortController, nextSort: () => void): (() => void) => {
  const stdin = process.stdin
  stdin.setRawMode(true)
  stdin.resume()
  const onData = (d: Buffer): void => {
    const k = d.toString('utf8')
    if (k === 'q' || k === '\x03' || k === '\x04') stop.abort()
    else if (k === 's') nextSort()
  }
  stdin.on('data', onData)
  return () => {
    stdin.off('data', onData)
    stdin.setRawMode(false)
    stdin.pause()
  }
}
