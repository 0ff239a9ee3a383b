import { randomBytes } from 'node:crypto'
import { execa, type Result, type ResultPromise } from 'execa'
import { encodeEnvelope } from '../../core/event.js'
import { TsfError } from '../../core/errors.js'
import { ExitCode } from '../../core/exit-codes.js'
import type { EventOutput } from '../../core/link/writer.js'
import { info, warn } from '../../core/log.js'
import { reportUnacked, warnOversize } from '../source-end.js'
import type { Runtime } from '../../core/runtime.js'
import { aborted } from '../../core/shutdown.js'
import { pause } from '../../core/wait.js'
import { pumpLines, type PumpHooks, type Sequence } from './output-lines.js'

// how long output may stay open, silent, after the command exited
const LINGER = 2000

export interface ExecConfig {
  file: string
  args: string[]
  shell: boolean
  // stderr lines are events too (header stream=stderr); otherwise stderr passes through
  stderr: boolean
  restart: boolean
  restartDelay: number
  // after SIGTERM, how long the child has before SIGKILL
  killAfter: number
  maxLine: number
  truncate: boolean
  host: string
  headers: Record<string, string>
  window: number
  shutdownTimeout: number
}

// Runs the command (again after --restart-delay with --restart); each line it prints is an event.
// A command cannot replay: events it printed that were not yet durable when tsf died are lost,
// so exec is at-most-once across its own restarts (put `tsf channel` right after it).
export const runExec = async (config: ExecConfig, rt: Runtime): Promise<number> => {
  const out = await rt.output({ window: config.window, maxLine: config.maxLine })
  const runner = new ExecRunner(config, rt, out)
  return runner.run()
}

const display = (config: ExecConfig): string => [config.file, ...config.args].join(' ')

class ExecRunner {
  // one src per process and run: agent part + run number
  private readonly agent = randomBytes(9).toString('base64url')
  private runs = 0
  private deadline?: number
  // pumps waiting for room downstream, and when output last arrived (see drain)
  private waiting = 0
  private lastSeen = 0
  private readonly stopped: Promise<void>

  constructor(
    private readonly config: ExecConfig,
    private readonly rt: Runtime,
    private readonly out: EventOutput,
  ) {
    this.stopped = aborted(rt.stop)
    rt.stop.addEventListener('abort', () => (this.deadline = Date.now() + config.shutdownTimeout), { once: true })
  }

  async run(): Promise<number> {
    let last: Result | undefined
    let startFailure: string | undefined
    while (!this.rt.stop.aborted) {
      const outcome = await this.once()
      last = outcome.result
      startFailure = outcome.startFailure
      if (this.rt.stop.aborted || !this.config.restart) break
      info(`restarting in ${this.config.restartDelay} ms (--restart-delay)`)
      await pause(this.config.restartDelay, this.rt.stop)
    }
    const unacked = await this.out.end(this.deadline ? Math.max(0, this.deadline - Date.now()) : this.config.shutdownTimeout)
    reportUnacked(this.rt, unacked, this.rt.stop.aborted, 'the shutdown timeout', '; a command cannot replay them (at-most-once)')
    if (this.rt.stop.aborted) return ExitCode.ok
    if (startFailure) throw new TsfError(startFailure)
    if (last && last.exitCode !== 0) return ExitCode.failure
    return ExitCode.ok
  }

  // One run of the command: start, read its output until it closes, report how it ended.
  private async once(): Promise<{ result?: Result; startFailure?: string }> {
    const { config, rt } = this
    const run = ++this.runs
    const child = execa(config.file, config.args, {
      shell: config.shell,
      stdin: 'ignore',
      stdout: 'pipe',
      stderr: config.stderr ? 'pipe' : 'inherit',
      buffer: false,
      reject: false,
      encoding: 'buffer',
      stripFinalNewline: false,
      forceKillAfterDelay: config.killAfter,
      cleanup: true,
      // its own process group: a stop reaches what the command started too (`--shell 'python x.py'`
      // is a shell with the script as its child; SIGTERM to the shell alone left the script running)
      detached: true,
    })
    const signalGroup = (signal: NodeJS.Signals): void => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal)
      } catch {
        // the group is gone
      }
    }
    // SIGTERM (or a `| head` gone away) reaches the command's group; we read on until its output
    // closes; whatever of the group still runs after --kill-after gets SIGKILL
    const stop = (): void => {
      signalGroup('SIGTERM')
      // not cleared when the command exits: a member of its group may outlive it
      setTimeout(() => signalGroup('SIGKILL'), config.killAfter).unref()
    }
    rt.stop.addEventListener('abort', stop, { once: true })
    try {
      if (child.pid !== undefined) {
        rt.counters.add('ChildStartCount')
        info(`started ${display(config)} (pid ${child.pid}${run > 1 ? `, run ${run}` : ''})`)
      }
      const seq: Sequence = { src: `${this.agent}.${run}`, seq: 0 }
      const headers = config.stderr ? { ...config.headers, stream: 'stdout' } : config.headers
      const pumps = [
        pumpLines(
          child.stdout!,
          { maxLine: config.maxLine, truncate: config.truncate, envelope: encodeEnvelope({ host: config.host, headers }) },
          seq,
          this.out,
          this.hooks(),
        ),
      ]
      if (config.stderr) {
        const envelope = encodeEnvelope({ host: config.host, headers: { ...config.headers, stream: 'stderr' } })
        pumps.push(pumpLines(child.stderr!, { maxLine: config.maxLine, truncate: config.truncate, envelope }, seq, this.out, this.hooks()))
      }
      await this.drain(child, pumps)
      const result = await child
      if (result.code && child.pid === undefined) {
        const why = result.code === 'ENOENT' ? 'command not found' : result.code === 'EACCES' ? 'permission denied' : result.originalMessage
        if (config.restart) warn(`cannot run ${config.file}: ${why}`)
        rt.counters.add('ChildFailureCount')
        return { result, startFailure: `cannot run ${config.file}: ${why}` }
      }
      rt.counters.add('ChildExitCount')
      if (result.exitCode !== 0) rt.counters.add('ChildFailureCount')
      const how = result.signal ? `was killed by ${result.signal}` : `exited with code ${result.exitCode}`
      const stopping = rt.stop.aborted && result.signal === 'SIGTERM'
      ;(result.exitCode === 0 || stopping ? info : warn)(`${display(config)} ${how} after ${seq.seq} events`)
      return { result }
    } finally {
      rt.stop.removeEventListener('abort', stop)
    }
  }

  // Reads the output until it closes. Once the command exited, output that stays open with
  // nothing coming (a background process of the command holding it) is let go after LINGER.
  private async drain(child: ResultPromise, pumps: Promise<void>[]): Promise<void> {
    let exitedAt = 0
    child.once('exit', () => (exitedAt = Date.now()))
    this.lastSeen = Date.now()
    const watchdog = setInterval(() => {
      if (!exitedAt || this.waiting > 0 || Date.now() - Math.max(exitedAt, this.lastSeen) < LINGER) return
      warn(`${this.config.file} exited but its output stays open (a background process of it?): stopped reading it`)
      child.stdout?.destroy()
      child.stderr?.destroy()
      clearInterval(watchdog)
    }, 250)
    try {
      await Promise.all(pumps.map((p) => p.catch(() => undefined))) // a stream error ends that stream; the exit says why
    } finally {
      clearInterval(watchdog)
    }
  }

  private hooks(): PumpHooks {
    const { rt, config } = this
    return {
      seen: () => (this.lastSeen = Date.now()),
      ready: async () => {
        // while stopping, waiting for room is bounded by the shutdown timeout
        if (this.deadline === undefined) {
          this.waiting++
          await Promise.race([this.out.ready(), this.stopped])
          this.waiting--
          if (!rt.stop.aborted) return true
        }
        const left = this.deadline! - Date.now()
        if (left <= 0) return false
        let timer: NodeJS.Timeout | undefined
        const ok = await Promise.race([
          this.out.ready().then(() => true),
          new Promise<boolean>((r) => (timer = setTimeout(() => r(false), left))),
        ])
        clearTimeout(timer)
        if (!ok) warn(`the downstream took no more within the shutdown timeout: the rest of ${config.file}'s output is dropped`)
        return ok
      },
      written: (n) => rt.counters.add('EventReceivedCount', n),
      durable: (n) => rt.counters.add('EventAcceptedCount', n),
      oversize: () => warnOversize(rt, 'oversize', config.file, config, 1, 'said once'),
    }
  }
}
