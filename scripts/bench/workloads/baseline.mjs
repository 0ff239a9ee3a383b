// The naive Node baseline (split lines + JSON.stringify({ts,host,body}) per line) on the same
// file, in its own process: the figure `tsf tail` has to beat.
import { join } from 'node:path'
import { expectClean } from '../checks.mjs'
import { Pipeline, sq } from '../pipeline.mjs'
import { ROOT } from '../tsf.mjs'

export default {
  name: 'baseline',
  title: 'naive Node baseline: split + JSON.stringify per line > /dev/null',
  needs: () => undefined,
  async run(ctx) {
    const p = new Pipeline({
      dir: ctx.work,
      stages: [{ label: 'naive-node', cmd: `node ${sq(join(ROOT, 'scripts/bench/naive-baseline.mjs'))} ${sq(ctx.log.path)}` }],
      stdout: '/dev/null',
    })
    await p.wait(ctx.timeoutMs)
    const procs = p.processes()
    const counted = Number(/lines (\d+)/.exec(procs[0].stderr)?.[1] ?? -1)
    const problem = expectClean(procs) ?? (counted === ctx.log.lines ? undefined : `counted ${counted} lines, expected ${ctx.log.lines}`)
    return { bytes: ctx.log.bytes, events: ctx.log.lines, wall: p.wall, procs, problem, command: p.command }
  },
}
