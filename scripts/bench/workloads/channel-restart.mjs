// The channel restarted with a backlog: fill it with the events file (--write-only), then time a
// `--read-only` reader from process start to its first event, and to the end of the backlog.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expectClean } from '../checks.mjs'
import { Pipeline, sleep, sq } from '../pipeline.mjs'
import { missing, ROOT, TSF } from '../tsf.mjs'
import { MiB } from '../units.mjs'

export default {
  name: 'channel-restart',
  title: 'channel restart with a backlog: time to first event, drain rate',
  needs: () => missing(['channel'], { channel: ['--write-only', '--read-only'] }),
  async run(ctx) {
    const events = await ctx.events()
    const q = join(ctx.work, 'q')
    const maxSize = `${Math.ceil((events.bytes * 2) / MiB) + 64}M`
    const fill = new Pipeline({
      dir: ctx.work,
      stages: [
        { label: 'cat', cmd: `cat ${sq(events.path)}` },
        { label: 'channel-fill', cmd: `${TSF} channel --dir ${sq(q)} --write-only --reader default --max-size ${maxSize}` },
      ],
      stdout: '/dev/null',
    })
    await fill.wait(ctx.timeoutMs)
    const fillProcs = fill.processes()
    const fillProblem = expectClean(fillProcs)
    if (fillProblem)
      return { bytes: events.bytes, events: events.lines, wall: fill.wall, procs: fillProcs, problem: fillProblem, command: fill.script }

    const stats = join(ctx.work, 'reader.json')
    const reader = new Pipeline({
      dir: ctx.work,
      stages: [
        { label: 'channel-restart', cmd: `${TSF} channel --dir ${sq(q)} --read-only --max-size ${maxSize}` },
        { label: 'reader', cmd: `node ${sq(join(ROOT, 'scripts/bench/sink-reader.mjs'))} ${sq(stats)} --expect ${events.lines}` },
      ],
      stdout: '/dev/null',
    })
    try {
      const deadline = Date.now() + ctx.timeoutMs
      while (!existsSync(stats) && Date.now() < deadline && reader.ended === undefined) await sleep(50)
      const done = existsSync(stats) ? JSON.parse(readFileSync(stats, 'utf8')) : undefined
      reader.signal('channel-restart', 'SIGTERM')
      await reader.wait(60_000)
      const procs = [...fillProcs, ...reader.processes()]
      const firstMs = done?.first ? Number(BigInt(done.first) - reader.started) / 1e6 : undefined
      const drainS = done ? Number(BigInt(done.last) - reader.started) / 1e9 : undefined
      const problem = !done
        ? `the reader got ${done?.count ?? 'no'} events of ${events.lines} in time`
        : done.count !== events.lines
          ? `the reader got ${done.count} events, expected ${events.lines}`
          : expectClean(procs)
      return {
        bytes: events.bytes,
        events: events.lines,
        wall: drainS ?? reader.wall,
        procs,
        problem,
        command: `${fill.command}\n${reader.command}`,
        extra: {
          backlog: `${(events.bytes / MiB).toFixed(0)} MiB, ${events.lines} events`,
          'fill (write-only) MiB/s': (events.bytes / MiB / fill.wall).toFixed(1),
          'restart to first event': firstMs === undefined ? 'n/a' : `${firstMs.toFixed(0)} ms`,
          'restart to backlog drained': drainS === undefined ? 'n/a' : `${drainS.toFixed(2)} s`,
        },
      }
    } finally {
      reader.kill()
    }
  },
}
