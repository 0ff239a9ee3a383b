// Latency from a line appended to a file to its event at the collector's output, at a steady
// 5,000 lines/s: through tail -F → ship → collect, and through rsyslog imfile → omfwd → imtcp →
// omprog for comparison. The reader at the end (sink-reader.mjs) compares CLOCK_MONOTONIC stamps
// written in each line; on collect's stdout it is a tsf reader that acks at once.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expectClean } from '../checks.mjs'
import { startCollector, stateDir, stopCollector } from '../collector.mjs'
import { Pipeline, sleep, sq } from '../pipeline.mjs'
import { freePort, rsyslogMissing, startRsyslog, waitForPort } from '../rsyslog.mjs'
import { missing, ROOT, TSF } from '../tsf.mjs'

const RATE = 5000
const WARMUP_MS = 3000
const MEASURE_MS = 10_000
const TOTAL = Math.floor(((WARMUP_MS + MEASURE_MS) * RATE) / 1000)
const READER = join(ROOT, 'scripts/bench/sink-reader.mjs')

const startAppender = (ctx, file) =>
  new Pipeline({
    dir: ctx.work,
    stages: [
      { label: 'appender', cmd: `node ${sq(join(ROOT, 'scripts/bench/appender.mjs'))} ${sq(file)} ${RATE} ${WARMUP_MS} ${MEASURE_MS}` },
    ],
    stdout: join(ctx.work, 'appender.out'),
  })

// waits (bounded) for the reader to have seen every line, then returns its numbers
const readerStats = async (stats) => {
  const deadline = Date.now() + 30_000
  while (!existsSync(stats) && Date.now() < deadline) await sleep(50)
  return existsSync(stats) ? JSON.parse(readFileSync(stats, 'utf8')) : undefined
}

const result = (done, procs, command) => {
  const problem = !done
    ? `the reader did not get all ${TOTAL} lines within 30 s of the last append`
    : done.count !== TOTAL
      ? `the reader got ${done.count} lines, expected ${TOTAL}`
      : expectClean(procs)
  const l = done?.latency
  const f = (v) => (v === undefined ? 'n/a' : `${v.toFixed(2)} ms`)
  return {
    bytes: 0,
    events: TOTAL,
    noRate: true,
    procs,
    problem,
    command,
    note: `${WARMUP_MS / 1000} s warm-up, then ${MEASURE_MS / 1000} s measured; CPU and RSS cover the whole run`,
    extra: l ? { samples: l.samples, p50: f(l.p50ms), p90: f(l.p90ms), p99: f(l.p99ms), max: f(l.maxms) } : undefined,
  }
}

export const latencyTsf = {
  name: 'latency',
  title: `latency: append → collect stdout at ${RATE} lines/s (tail -F | ship → collect)`,
  needs: () => missing(['tail', 'ship', 'collect']),
  async run(ctx) {
    const file = join(ctx.work, 'app.log')
    writeFileSync(file, '')
    const stats = join(ctx.work, 'reader.json')
    const collector = await startCollector(ctx, {
      downstream: [{ label: 'reader', cmd: `node ${sq(READER)} ${sq(stats)} --expect ${TOTAL} --latency` }],
    })
    let agent
    let appender
    try {
      agent = new Pipeline({
        dir: ctx.work,
        stages: [
          { label: 'tail', cmd: `${TSF} tail -F --state ${sq(stateDir(ctx, 'tail-state'))} ${sq(file)}` },
          { label: 'ship', cmd: `${TSF} ship 127.0.0.1:${collector.port}` },
        ],
        stdout: '/dev/null',
      })
      await sleep(1000) // let tail start watching before the first append
      appender = startAppender(ctx, file)
      await appender.wait(ctx.timeoutMs)
      const done = await readerStats(stats)
      agent.signal('tail', 'SIGTERM')
      await agent.wait(60_000)
      await stopCollector(collector)
      const procs = [...agent.processes(), ...collector.pipeline.processes(), ...appender.processes()]
      return result(done, procs, `${collector.pipeline.command}\n${agent.command}\n${appender.command}`)
    } finally {
      appender?.kill()
      agent?.kill()
      collector.pipeline.kill()
    }
  },
}

export const latencyRsyslog = {
  name: 'rsyslog-latency',
  title: `latency rsyslog: append → omprog stdin at ${RATE} lines/s (imfile → omfwd → imtcp → omprog)`,
  needs: rsyslogMissing,
  async run(ctx) {
    const file = join(ctx.work, 'app.log')
    writeFileSync(file, '')
    const stats = join(ctx.work, 'reader.json')
    const port = await freePort()
    // omprog splits its binary parameter on spaces: the scratch path must not hold any
    if (/\s/.test(READER + stats)) throw new Error(`omprog cannot run a program from a path with spaces: ${READER}`)
    const collector = startRsyslog(ctx, 'rsyslog-collector', 'collector-prog', {
      PORT: port,
      PROGRAM: `${process.execPath} ${READER} ${stats} --expect ${TOTAL} --latency`,
    })
    let agent
    let appender
    try {
      await waitForPort(port)
      agent = startRsyslog(ctx, 'rsyslog-agent', 'agent', { PORT: port, INPUT: file })
      await sleep(1000) // let imfile start watching before the first append
      appender = startAppender(ctx, file)
      await appender.wait(ctx.timeoutMs)
      const done = await readerStats(stats)
      agent.signal('rsyslog-agent', 'SIGTERM')
      collector.signal('rsyslog-collector', 'SIGTERM')
      await agent.wait(30_000)
      await collector.wait(30_000)
      const procs = [...agent.processes(), ...collector.processes(), ...appender.processes()]
      const r = result(done, procs, `${collector.command}\n${agent.command}\n${appender.command}`)
      r.note += '; the reader runs under omprog, so its CPU is counted in rsyslog-collector'
      return r
    } finally {
      appender?.kill()
      agent?.kill()
      collector.kill()
    }
  },
}
