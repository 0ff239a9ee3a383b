// Latency from a line appended to a file to its event on the collector's stdout, at a steady
// 5,000 lines/s through tail -F → ship → collect. The reader on collect's stdout is a tsf reader
// (acks at once, like /dev/null would) that compares CLOCK_MONOTONIC stamps written in each line.
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { expectClean } from '../checks.mjs'
import { startCollector, stateDir, stopCollector } from '../collector.mjs'
import { Pipeline, sleep, sq } from '../pipeline.mjs'
import { missing, ROOT, TSF } from '../tsf.mjs'

const RATE = 5000
const WARMUP_MS = 3000
const MEASURE_MS = 10_000

export default {
  name: 'latency',
  title: `latency: append → collect stdout at ${RATE} lines/s (tail -F | ship → collect)`,
  needs: () => missing(['tail', 'ship', 'collect']),
  async run(ctx) {
    const file = join(ctx.work, 'app.log')
    writeFileSync(file, '')
    const stats = join(ctx.work, 'reader.json')
    const total = Math.floor(((WARMUP_MS + MEASURE_MS) * RATE) / 1000)
    const collector = await startCollector(ctx, {
      downstream: [{ label: 'reader', cmd: `node ${sq(join(ROOT, 'scripts/bench/sink-reader.mjs'))} ${sq(stats)} --expect ${total} --latency` }],
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
      appender = new Pipeline({
        dir: ctx.work,
        stages: [{ label: 'appender', cmd: `node ${sq(join(ROOT, 'scripts/bench/appender.mjs'))} ${sq(file)} ${RATE} ${WARMUP_MS} ${MEASURE_MS}` }],
        stdout: join(ctx.work, 'appender.out'),
      })
      await appender.wait(ctx.timeoutMs)
      const deadline = Date.now() + 30_000
      while (!existsSync(stats) && Date.now() < deadline) await sleep(50)
      agent.signal('tail', 'SIGTERM')
      await agent.wait(60_000)
      await stopCollector(collector)
      const procs = [...agent.processes(), ...collector.pipeline.processes(), ...appender.processes()]
      const done = existsSync(stats) ? JSON.parse(readFileSync(stats, 'utf8')) : undefined
      const problem = !done ? `the collector's reader did not get all ${total} lines within 30 s of the last append`
        : done.count !== total ? `the collector's reader got ${done.count} lines, expected ${total}` : expectClean(procs)
      const l = done?.latency
      const f = (v) => (v === undefined ? 'n/a' : `${v.toFixed(2)} ms`)
      return {
        bytes: 0,
        events: total,
        noRate: true,
        wall: agent.wall,
        procs,
        problem,
        command: `${collector.pipeline.command}\n${agent.command}\n${appender.command}`,
        note: `${WARMUP_MS / 1000} s warm-up, then ${MEASURE_MS / 1000} s measured; CPU and RSS cover the whole run`,
        extra: l ? { samples: l.samples, p50: f(l.p50ms), p90: f(l.p90ms), p99: f(l.p99ms), max: f(l.maxms) } : undefined,
      }
    } finally {
      appender?.kill()
      agent?.kill()
      collector.pipeline.kill()
    }
  },
}
