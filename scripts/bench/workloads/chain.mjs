// W1, the headline: tail → ship → collect → roll, with or without a `tsf channel` on each side.
// Timed from agent start until ship exits with everything acked (the collector acks a batch only
// once roll has fsynced it); then the rolled files must equal the input byte for byte.
import { join } from 'node:path'
import { expectClean, expectSameBytes, expectTailRead, rolledFiles } from '../checks.mjs'
import { startCollector, stateDir, stopCollector } from '../collector.mjs'
import { Pipeline, sq } from '../pipeline.mjs'
import { missing, TSF } from '../tsf.mjs'

const makeChain = (withChannels) => ({
  name: withChannels ? 'chain-channel' : 'chain',
  title: withChannels ? 'W1 tail | channel | ship → collect | channel | roll' : 'W1 tail | ship → collect | roll',
  needs: () => missing(withChannels ? ['tail', 'channel', 'ship', 'collect', 'roll'] : ['tail', 'ship', 'collect', 'roll']),
  async run(ctx) {
    const out = join(ctx.work, 'rolled')
    const channel = (label, dir) => ({ label, cmd: `${TSF} channel --dir ${sq(join(ctx.work, dir))}` })
    const roll = { label: 'roll', cmd: `${TSF} roll ${sq(out)}` }
    const collector = await startCollector(ctx, { downstream: withChannels ? [channel('channel-c', 'qc'), roll] : [roll] })
    const state = stateDir(ctx, 'tail-state')
    let agent
    try {
      agent = new Pipeline({
        dir: ctx.work,
        stages: [
          { label: 'tail', cmd: `${TSF} tail --state ${sq(state)} ${sq(ctx.log.path)}` },
          ...(withChannels ? [channel('channel-a', 'qa')] : []),
          { label: 'ship', cmd: `${TSF} ship 127.0.0.1:${collector.port}` },
        ],
        stdout: '/dev/null',
      })
      await agent.wait(ctx.timeoutMs)
      const wall = agent.wall
      await stopCollector(collector)
      const procs = [...agent.processes(), ...collector.pipeline.processes()]
      const problem =
        expectClean(procs) ?? expectTailRead(state, ctx.log) ?? (await expectSameBytes(rolledFiles(out), ctx.log, 'rolled files'))
      return {
        bytes: ctx.log.bytes,
        events: ctx.log.lines,
        wall,
        procs,
        problem,
        command: `${collector.pipeline.command}\n${agent.command}`,
      }
    } finally {
      agent?.kill()
      collector.pipeline.kill()
    }
  },
})

export const chain = makeChain(false)
export const chainWithChannels = makeChain(true)
