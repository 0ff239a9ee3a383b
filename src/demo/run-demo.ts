import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { createServer } from 'node:net'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { ExitCode } from '../core/exit-codes.js'
import { info, warn } from '../core/log.js'
import { aborted, onShutdown } from '../core/shutdown.js'
import { pause } from '../core/wait.js'
import { LogGenerator } from './log-generator.js'
import { makeDirsSync } from '../core/make-dirs.js'

export interface DemoOptions {
  out: string
  print: boolean
  rate: number
  duration?: number
}

const tsfBin = fileURLToPath(new URL('../../bin/tsf.js', import.meta.url))
const tsf = (args: string): string => `'${process.execPath}' '${tsfBin}' ${args}`

const freePort = async (): Promise<number> => {
  const server = createServer().listen(0, '127.0.0.1')
  await once(server, 'listening')
  const port = (server.address() as { port: number }).port
  server.close()
  return port
}

// SIGTERM's exit status (128 + 15): a stage that the demo stopped, on purpose
const STOPPED_BY_SIGTERM = 143

// the pipelines the demo is stopping: their SIGTERM exits are the stop, not a failure
const stopping = new WeakSet<ChildProcess>()

// Runs one shell pipeline in its own process group, so it can be stopped as a whole.
const pipeline = (name: string, command: string, cwd: string): ChildProcess => {
  const child = spawn('sh', ['-c', command], { cwd, detached: true, stdio: ['ignore', 'inherit', 'inherit'] })
  child.on('exit', (code, signal) => {
    if (stopping.has(child) && (code === STOPPED_BY_SIGTERM || signal === 'SIGTERM')) return
    if (code !== 0 && code !== null) warn(`the ${name} pipeline exited with ${code}`)
    else if (signal && signal !== 'SIGTERM') warn(`the ${name} pipeline ended on ${signal}`)
  })
  return child
}

// The processes of a process group, from /proc: the members of one shell pipeline.
const groupMembers = (pgid: number): { pid: number; argv: string[] }[] => {
  const members: { pid: number; argv: string[] }[] = []
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1')
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
      if (Number(fields[2]) !== pgid) continue
      members.push({ pid: Number(entry), argv: readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0') })
    } catch {
      // gone meanwhile
    }
  }
  return members
}

// Stops a pipeline the way an operator would: SIGTERM to its first command only, so every later
// stage sees EOF, drains and exits on its own; SIGKILL for the group only past the timeout.
// With `every`, SIGTERM goes to every stage at once: each stops without draining.
const stopPipeline = async (child: ChildProcess, first: string, timeout: number, every = false): Promise<void> => {
  const pgid = child.pid!
  stopping.add(child)
  for (const m of groupMembers(pgid))
    if (every ? m.argv.some((a) => a.endsWith('tsf.js')) : m.argv.includes(first)) process.kill(m.pid, 'SIGTERM')
  const deadline = Date.now() + timeout
  // every stage stopping at once: acks that would need the next stage cannot come, so a second
  // SIGTERM (exit at once) follows after a moment; what the channel holds stays there
  let again = every ? Date.now() + 2_000 : Infinity
  while (groupMembers(pgid).length > 0) {
    if (Date.now() > again) {
      again = Infinity
      for (const m of groupMembers(pgid)) if (m.argv.some((a) => a.endsWith('tsf.js'))) process.kill(m.pid, 'SIGTERM')
    }
    if (Date.now() > deadline) {
      warn(`the pipeline with ${first} did not stop within ${timeout / 1000} s: killing it`)
      try {
        process.kill(-pgid, 'SIGKILL')
      } catch {
        // gone
      }
      return
    }
    await pause(50)
  }
}

const countLines = (dir: string): number => {
  let n = 0
  for (const name of readdirSync(dir)) {
    if (name.startsWith('.')) continue
    const path = join(dir, name)
    const st = statSync(path)
    if (st.isDirectory()) n += countLines(path)
    else n += readFileSync(path).toString('latin1').split('\n').length - 1
  }
  return n
}

const caughtUp = async (done: () => boolean, timeout: number): Promise<void> => {
  const deadline = Date.now() + timeout
  while (!done() && Date.now() < deadline) await pause(200)
}

// A local agent → collector chain on a generated log, the shape of a real deployment:
//   generator → app.log
//   tsf tail -F app.log | tsf channel --dir q | tsf ship 127.0.0.1:P
//   tsf collect --listen 127.0.0.1:P | tsf roll logs/      (or: tsf collect --print)
export const runDemo = async (options: DemoOptions): Promise<number> => {
  const out = resolve(options.out)
  makeDirsSync(join(out, 'logs'))
  const port = await freePort()
  const shutdown = onShutdown()
  const generator = new LogGenerator(join(out, 'app.log'), options.rate)
  await generator.start()

  const collector = pipeline(
    'collector',
    options.print
      ? tsf(`collect --listen 127.0.0.1:${port} --print`)
      : `${tsf(`collect --listen 127.0.0.1:${port}`)} | ${tsf(`roll logs --prefix 'app-%Y%m%d-%H-' --interval 1m`)}`,
    out,
  )
  const agent = pipeline(
    'agent',
    `${tsf('tail -F app.log --state state')} | ${tsf('channel --dir q')} | ${tsf(`ship 127.0.0.1:${port}`)}`,
    out,
  )

  info(`writing ${options.rate} access-log lines/s to ${join(out, 'app.log')}`)
  info(`agent:     tsf tail -F app.log | tsf channel --dir q | tsf ship 127.0.0.1:${port}`)
  info(
    options.print
      ? `collector: tsf collect --listen 127.0.0.1:${port} --print`
      : `collector: tsf collect --listen 127.0.0.1:${port} | tsf roll logs   → ${join(out, 'logs')}`,
  )
  info(options.duration ? `running for ${options.duration / 1000} s (Ctrl-C stops earlier)` : 'Ctrl-C stops the demo')

  const stopped: Promise<unknown>[] = [aborted(shutdown.signal), once(agent, 'exit'), once(collector, 'exit')]
  if (options.duration) stopped.push(pause(options.duration))
  await Promise.race(stopped)

  // Stop the generator, let the agent catch up with the file, then stop agent and collector.
  await generator.stop()
  if (collector.exitCode !== null || collector.signalCode !== null) {
    // the collector ended first (`tsf demo --print | head`): the agent has nowhere to drain to, and
    // what it holds stays in its channel, so it is stopped without waiting for acks that cannot come
    info('stopping: the collector has ended, so the agent stops without draining (its channel keeps the rest)')
    await stopPipeline(agent, 'tail', 60_000, true)
  } else {
    info('stopping: the agent drains what is in the file, then the collector')
    // tail stops reading on SIGTERM, so wait until the chain has caught up with the file (files
    // being written are visible as NAME.tmp) before stopping it; a loaded machine may need many seconds.
    if (!options.print) await caughtUp(() => countLines(join(out, 'logs')) >= generator.written, 60_000)
    else await pause(2000)
    await stopPipeline(agent, 'tail', 60_000)
  }
  await stopPipeline(collector, 'collect', 60_000)
  shutdown.dispose()
  if (!options.print) {
    const delivered = countLines(join(out, 'logs'))
    info(`generated ${generator.written} lines; ${delivered} are in ${join(out, 'logs')}`)
    return delivered >= generator.written ? ExitCode.ok : ExitCode.failure
  }
  return ExitCode.ok
}
