// A pipeline of tsf commands joined by real shell pipes, run by a supervisor loop (sh) that
// restarts it as a whole whenever it ends, as a shell loop or systemd would in production.
// The stages are the supervisor's own children, so their pids come from /proc/<sup>/task/<sup>/children
// and never from a search by name (other tsf processes on the machine are not ours).
import { spawn } from 'node:child_process'
import { closeSync, existsSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export const shQuote = (s) => `'${String(s).replaceAll("'", `'\\''`)}'`

export class Chain {
  // stages: [{ cmd: 'tail', args: [...] }, ...]; dir: a directory of the chain's own
  constructor({ name, dir, tsf, stages }) {
    this.name = name
    this.dir = dir
    this.log = join(dir, 'chain.log')
    this.stages = stages.map((s) => s.cmd)
    const pipeline = stages.map((s) => ['node', tsf, s.cmd, ...s.args].map(shQuote).join(' ')).join(' | ')
    const d = shQuote(dir)
    // hold: do not restart (an outage); stop: leave the loop once the pipeline ends.
    this.script = [
      'n=0',
      `while [ ! -e ${d}/stop ]; do`,
      `  if [ -e ${d}/hold ]; then sleep 0.1; continue; fi`,
      '  n=$((n+1)); echo "=== chaos: start $n" >&2',
      `  ${pipeline}`,
      '  rc=$?',
      // a crash that still ends the pipeline with status 0 would not be restarted by systemd's
      // Restart=on-failure: say so, the suite counts it
      `  if [ $rc -eq 0 ] && [ ! -e ${d}/stop ] && [ ! -e ${d}/hold ]; then echo "=== chaos: pipeline $n ended with status 0 unasked" >&2; fi`,
      '  echo "=== chaos: pipeline $n ended, last stage exit $rc" >&2',
      `  [ -e ${d}/stop ] || [ -e ${d}/hold ] || sleep 0.3`,
      'done',
    ].join('\n')
  }

  start() {
    const fd = openSync(this.log, 'a')
    this.child = spawn('sh', ['-c', this.script], { detached: true, stdio: ['ignore', 'ignore', fd] })
    closeSync(fd)
    this.exited = new Promise((resolve) => this.child.on('exit', (code) => resolve(code)))
  }

  // The running stages by command name ({ tail: pid, ... }); a stage between fork and exec is skipped.
  pids() {
    const found = {}
    let children = []
    try {
      const sup = this.child.pid
      children = readFileSync(`/proc/${sup}/task/${sup}/children`, 'utf8').trim().split(/\s+/).filter(Boolean)
    } catch {
      return found
    }
    for (const pid of children) {
      try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')
        const cmd = argv[2]
        if (argv[0] === 'node' && argv[1]?.endsWith('bin/tsf.js') && this.stages.includes(cmd)) found[cmd] = Number(pid)
      } catch {
        // gone meanwhile
      }
    }
    return found
  }

  running() {
    return Object.keys(this.pids()).length === this.stages.length
  }

  hold() {
    writeFileSync(join(this.dir, 'hold'), '')
  }

  release() {
    rmSync(join(this.dir, 'hold'), { force: true })
  }

  held() {
    return existsSync(join(this.dir, 'hold'))
  }

  signal(cmd, sig) {
    const pid = this.pids()[cmd]
    if (!pid) return 0
    try {
      process.kill(pid, sig)
      return pid
    } catch {
      return 0
    }
  }

  // Ends the loop after the current pipeline: the head stage gets SIGTERM, the rest drain.
  async stop(timeoutMs) {
    writeFileSync(join(this.dir, 'stop'), '')
    this.release()
    // One SIGTERM per head process: a second one would make it exit at once, without draining.
    const told = new Set()
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      const head = this.pids()[this.stages[0]]
      if (head && !told.has(head)) {
        told.add(head)
        this.signal(this.stages[0], 'SIGTERM')
      }
      const code = await Promise.race([this.exited, new Promise((r) => setTimeout(() => r('timeout'), 200))])
      if (code !== 'timeout') return true
    }
    return false
  }

  // Everything of this chain, at once (cleanup after a failure or an abort).
  killAll() {
    try {
      process.kill(-this.child.pid, 'SIGKILL')
    } catch {
      // already gone
    }
  }

  text() {
    return existsSync(this.log) ? readFileSync(this.log, 'utf8') : ''
  }

  // Pipelines that ended by themselves (not on our stop or outage) with status 0.
  unaskedCleanEnds() {
    return (this.text().match(/^=== chaos: pipeline \d+ ended with status 0 unasked/gm) ?? []).length
  }

  restarts() {
    return Math.max(0, (this.text().match(/^=== chaos: start /gm) ?? []).length - 1)
  }
}

// Polls cond() until it holds or ms pass; returns whether it held.
export const waitFor = async (cond, ms, every = 100) => {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (await cond()) return true
    await new Promise((r) => setTimeout(r, every))
  }
  return !!(await cond())
}
