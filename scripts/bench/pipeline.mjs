// Runs a whole shell pipeline the way a user types it, no wrapper around any stage. Each node
// process reports its own CPU seconds and peak RSS from getrusage at exit (exit-usage.cjs, loaded
// through NODE_OPTIONS); /proc is sampled every 100 ms to find each stage's pid, for its wall time,
// and for processes that are not node (rsyslogd). BENCH_GNU_TIME=1 wraps every stage in GNU time
// as older runs did: a wrapper holds the stage's pipes, so tsf sees a second writer of its stdout
// pipe it cannot tell from a waiting parent on older commits (writes of at most 4096 bytes).
import { spawn } from 'node:child_process'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const GNU_TIME = '/usr/bin/time'
export const haveGnuTime = () => Boolean(process.env.BENCH_GNU_TIME) && existsSync(GNU_TIME)
const USAGE_HOOK = fileURLToPath(new URL('./exit-usage.cjs', import.meta.url))

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
    this.command = stages
      .map(
        ({ cmd }, i) => cmd + (i === 0 && stdin ? ` < ${sq(stdin)}` : '') + (i === stages.length - 1 && stdout ? ` > ${sq(stdout)}` : ''),
      )
      .join(' | ')
    this.started = process.hrtime.bigint()
    const nodeOptions = `${process.env.NODE_OPTIONS ?? ''} --require ${USAGE_HOOK}`.trim()
    this.child = spawn('sh', ['-c', this.script], {
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, NODE_OPTIONS: nodeOptions, TSF_BENCH_USAGE_DIR: dir, ...env },
    })
    live.add(this)
    this.exited = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        this.ended = process.hrtime.bigint()
        live.delete(this)
        resolve({ code, signal })
      }),
    )
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
    this.exited.then(() => {
      exited = true
    })
    while (Date.now() < deadline) {
      const m = pattern.exec(this.stderrOf(label))
      if (m) return m
      if (exited) break
      await sleep(50)
    }
    throw new Error(
      `${label}: no ${pattern} on stderr within ${timeoutMs} ms${exited ? ' (the pipeline exited)' : ''}: ${tailOf(this.stderrOf(label))}`,
    )
  }

  // Without GNU time: find each stage's pid and read its CPU ticks and VmHWM from /proc every
  // 100 ms. Node stages replace these with their exact figures at exit (exit-usage.cjs); for the
  // others the last interval before they exit is lost, so their figures are a little low.
  startSampling() {
    this.samples = new Map()
    this.pids = new Map()
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
        this.pids.set(label, pid)
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
      return below.find(
        (p) =>
          stage &&
          !/^(\/bin\/)?sh\0/.test(all.get(p)?.cmd ?? '') &&
          all
            .get(p)
            ?.cmd.replace(/\0/g, ' ')
            .includes(stage.match ?? stage.cmd.split(' ').slice(0, 3).join(' ').replace(/'/g, '')),
      )
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
    const timeout = new Promise((resolve) => {
      timer = setTimeout(() => resolve('timeout'), timeoutMs)
    })
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
        if (s)
          Object.assign(row, {
            wall: (s.last - s.first) / 1000,
            user: s.user,
            sys: s.sys,
            cpu: s.user + s.sys,
            rssKiB: s.rssKiB,
            sampled: true,
          })
        const pid = this.pids?.get(label)
        try {
          const u = JSON.parse(readFileSync(join(this.dir, `usage.${pid}.json`), 'utf8'))
          Object.assign(row, {
            user: u.user,
            sys: u.sys,
            cpu: u.user + u.sys,
            rssKiB: Math.max(u.rssKiB, row.rssKiB ?? 0),
            exit: u.exit,
            sampled: false,
          })
        } catch {
          // not node, or killed: the samples stand
        }
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
    for (const [pid, info] of table)
      if (info.ppid === p) {
        out.push(pid)
        queue.push(pid)
      }
  }
  return out
}
