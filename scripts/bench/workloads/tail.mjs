// `tsf tail big.log > /dev/null`: the source alone (read, frame, encode, write).
import { expectClean, expectTailRead } from '../checks.mjs'
import { stateDir } from '../collector.mjs'
import { Pipeline, sq } from '../pipeline.mjs'
import { missing, TSF } from '../tsf.mjs'

export default {
  name: 'tail',
  title: 'tsf tail big.log > /dev/null',
  needs: () => missing(['tail']),
  async run(ctx) {
    const state = stateDir(ctx, 'tail-state')
    const p = new Pipeline({
      dir: ctx.work,
      stages: [{ label: 'tail', cmd: `${TSF} tail --state ${sq(state)} ${sq(ctx.log.path)}` }],
      stdout: '/dev/null',
    })
    await p.wait(ctx.timeoutMs)
    const procs = p.processes()
    const problem = expectClean(procs) ?? expectTailRead(state, ctx.log)
    return { bytes: ctx.log.bytes, events: ctx.log.lines, wall: p.wall, procs, problem, command: p.command }
  },
}
