// Runs a whole shell pipeline the way a user types it, with every stage wrapped in GNU time so
// each process reports its own wall time, CPU seconds (user+sys, from wait4's rusage) and peak RSS.
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'

export const GNU_TIME = '/usr/bin/time'
// BENCH_NO_GNU_TIME=1 runs as on a machine without it (wall times and checks only)
export const haveGnuTime = () => !process.env.BENCH_NO_GNU_TIME && existsSync(GNU_TIME)

// single-quote for sh
export const sq = (s) => `'${String(s).replace(/'/g, `'\\''`)}'`

const TIME_FORMAT = 'tsfbench %e %U %S %M %x'

// every pipeline still running, so an interrupted bench leaves no collector or rsyslogd behind
export const live = new Set()

export class Pipeline {
  // stages: [{ label, cmd }] where cmd is a shell command line; stdin/stdout: paths or undefined
  constructor({ dir, stages, stdin, stdout = '/dev/null', env }) {
    this.dir = dir
    this.stages = stages
    const parts = stages.map(({ label, cmd }, i) => {
      const timed = haveGnuTime() ? `${GNU_TIME} -f ${sq(TIME_FORMAT)} -o ${sq(join(dir, label + '.time'))} ${cmd}` : cmd
      let redir = ` 2> ${sq(join(dir, label + '.err'))}`
      if (i === 0 && stdin) redir += ` < ${sq(stdin)}`
      if (i === stages.length - 1 && stdout) redir += ` > ${sq(stdout)}`
      return timed + redir
    })
    this.script = parts.join(' | ')
    // the same pipeline as a user would type it (no timing wrappers), for the report
    this.command = stages.map(({ cmd }, i) => cmd + (i === 0 && stdin ? ` < ${sq(stdin)}` : '') + (i === stages.length - 1 && stdout ? ` > ${sq(stdout)}` : '')).join(' | ')
    this.started = process.hrtime.bigint()
    this.child = spawn('sh', ['-c', this.script], { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, ...env } })
    live.add(this)
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => {
      this.ended = process.hrtime.bigint()
      live.delete(this)
      resolve({ code, signal })
    }))
    if (!haveGnuTime()) this.startSampling()
  }

  // seconds from spawn to the end of the whole pipeline (or to now)
  get wall() {
    return Number((this.ended ?? process.hrtime.bigint()) - this.started) / 1e9
  }

  stderrOf(label) {
    try {
      return readFileSync(join(this.dir, label + '.err'), 'utf8')
    } catch {
      return ''
    }
  }

  // Waits for a line on a stage's stderr (a readiness line such as "listening on HOST:PORT").
  async waitFor(label, pattern, timeoutMs = 30_000) {
    const deadline = Date.now() + timeoutMs
    let exited = false
    this.exited.then(() => { exited = true })
    while (Date.now() < deadline) {
      const m = pattern.exec(this.stderrOf(label))
      if (m) return m
      if (exited) break
      await sleep(50)
    }
    throw new Error(`${label}: no ${pattern} on stderr within ${timeoutMs} ms${exited ? ' (the pipeline exited)' : ''}: ${tailOf(this.stderrOf(label))}`)
  }

  // Without GNU time: read each stage's CPU ticks and VmHWM from /proc every 100 ms. The last
  // interval before a process exits is lost, so these figures are a little low.
  startSampling() {
    this.samples = new Map()
    const tick = Number(process.env.CLK_TCK ?? 100)
    const pids = new Map() // found once: a pid stays the same across exec
    this.sampler = setInterval(() => {
      for (const { label } of this.stages) {
        if (!pids.has(label)) pids.set(label, this.pidOf(label))
        const pid = pids.get(label)
        if (!pid) {
          pids.delete(label)
          continue
        }
        try {
          const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
          const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
          const hwm = /VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))
          const prev = this.samples.get(label)
          this.samples.set(label, {
            first: prev?.first ?? Date.now(),
            last: Date.now(),
            user: Number(f[11]) / tick,
            sys: Number(f[12]) / tick,
            rssKiB: Math.max(prev?.rssKiB ?? 0, hwm ? Number(hwm[1]) : 0),
          })
        } catch {
          // exited between the lookup and the read
        }
      }
    }, 100)
    this.sampler.unref()
    this.exited.then(() => clearInterval(this.sampler))
  }

  // The pid of the stage's own command (below sh and time), so a signal reaches it and not the wrapper.
  pidOf(label) {
    const all = processTable()
    const below = descendants(all, this.child.pid)
    const marker = join(this.dir, label + '.time')
    const timePid = below.find((p) => all.get(p)?.cmd.includes(marker))
    if (timePid === undefined) {
      // no GNU time: the stage is sh's direct child; match on its command line
      const stage = this.stages.find((s) => s.label === label)
      // not a forked shell that has not exec'd yet: its command line holds every stage's text
      return below.find((p) => stage && !/^(\/bin\/)?sh\0/.test(all.get(p)?.cmd ?? '') && all.get(p)?.cmd.replace(/\0/g, ' ').includes(stage.match ?? stage.cmd.split(' ').slice(0, 3).join(' ').replace(/'/g, '')))
    }
    return below.find((p) => all.get(p)?.ppid === timePid)
  }

  signal(label, sig = 'SIGTERM') {
    const pid = this.pidOf(label)
    if (pid) {
      try {
        process.kill(pid, sig)
      } catch {
        // already gone
      }
    }
    return pid
  }

  // Ends every process this pipeline started, for cleanup after a failed or timed-out run.
  kill() {
    const all = processTable()
    for (const p of descendants(all, this.child.pid).reverse()) {
      try {
        process.kill(p, 'SIGKILL')
      } catch {
        // gone
      }
    }
    try {
      this.child.kill('SIGKILL')
    } catch {
      // gone
    }
  }

  // Waits for the end, at most timeoutMs; on timeout kills everything and throws.
  async wait(timeoutMs) {
    let timer
    const timeout = new Promise((resolve) => { timer = setTimeout(() => resolve('timeout'), timeoutMs) })
    const r = await Promise.race([this.exited, timeout])
    clearTimeout(timer)
    if (r === 'timeout') {
      this.kill()
      await this.exited
      throw new Error(`timed out after ${timeoutMs / 1000} s: ${this.script}`)
    }
    return r
  }

  // Per stage: { label, wall, user, sys, cpu, rssKiB, exit, signal, stderr }. GNU time writes its
  // file when the stage ends; without GNU time only the exit of the whole pipeline is known.
  processes() {
    return this.stages.map(({ label }) => {
      const row = { label, stderr: this.stderrOf(label) }
      let text = ''
      try {
        text = readFileSync(join(this.dir, label + '.time'), 'utf8')
      } catch {
        const s = this.samples?.get(label)
        if (s) Object.assign(row, { wall: (s.last - s.first) / 1000, user: s.user, sys: s.sys, cpu: s.user + s.sys, rssKiB: s.rssKiB, sampled: true })
        return row
      }
      const sig = /terminated by signal (\d+)/.exec(text)
      if (sig) row.signal = Number(sig[1])
      const m = /tsfbench ([\d.]+) ([\d.]+) ([\d.]+) (\d+) (\d+)/.exec(text)
      if (m) Object.assign(row, { wall: +m[1], user: +m[2], sys: +m[3], cpu: +m[2] + +m[3], rssKiB: +m[4], exit: +m[5] })
      return row
    })
  }
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

const tailOf = (s) => s.trim().split('\n').slice(-3).join(' / ') || '(stderr empty)'

// pid -> { ppid, cmd } of every process we can see
export const processTable = () => {
  const table = new Map()
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'latin1')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      table.set(Number(p), { ppid, cmd: readFileSync(`/proc/${p}/cmdline`, 'utf8') })
    } catch {
      // gone
    }
  }
  return table
}

export const descendants = (table, root) => {
  const out = []
  const queue = [root]
  while (queue.length) {
    const p = queue.shift()
    for (const [pid, info] of table) if (info.ppid === p) { out.push(pid); queue.push(pid) }
  }
  return out
}
