// `tsf tail big.log | tsf ship 127.0.0.1:P` into `tsf collect --listen 127.0.0.1:P > /dev/null`:
// the TCP hop. Timed from agent start until ship exits with everything acked by the collector.
import { expectClean, expectTailRead, fetchCounters } from '../checks.mjs'
import { startCollector, stateDir, stopCollector } from '../collector.mjs'
import { Pipeline, sq } from '../pipeline.mjs'
import { missing, TSF } from '../tsf.mjs'

export default {
  name: 'ship',
  title: 'tsf tail | tsf ship → tsf collect > /dev/null',
  needs: () => missing(['tail', 'ship', 'collect']),
  async run(ctx) {
    const collector = await startCollector(ctx)
    const state = stateDir(ctx, 'tail-state')
    let agent
    try {
      agent = new Pipeline({
        dir: ctx.work,
        stages: [
          { label: 'tail', cmd: `${TSF} tail --state ${sq(state)} ${sq(ctx.log.path)}` },
          { label: 'ship', cmd: `${TSF} ship 127.0.0.1:${collector.port}` },
        ],
        stdout: '/dev/null',
      })
      await agent.wait(ctx.timeoutMs)
      const counters = await fetchCounters(collector.metricsUrl)
      await stopCollector(collector)
      const procs = [...agent.processes(), ...collector.pipeline.processes()]
      const accepted = counters.EventAcceptedCount ?? 0
      const problem =
        expectClean(procs) ??
        expectTailRead(state, ctx.log) ??
        (accepted === ctx.log.lines ? undefined : `collect accepted ${accepted} events, expected ${ctx.log.lines}`)
      return {
        bytes: ctx.log.bytes,
        events: ctx.log.lines,
        wall: agent.wall,
        procs,
        problem,
        command: `${collector.pipeline.command}\n${agent.command}`,
      }
    } finally {
      agent?.kill()
      collector.pipeline.kill()
    }
  },
}
