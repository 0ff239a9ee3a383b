// Flume interop, next to Flume → Flume in the same run, on the same file:
//   flume-flume  Flume agent (TAILDIR → file channel → avro sink) → Flume collector (avro source →
//                file channel → file_roll)
//   flume-memory the same two Flume agents with memory channels (Flume's fast, non-durable setup:
//                the comparison for W1)
//   flume-tsf    the same Flume agent → tsf collect --flume-avro | tsf roll
//   tsf-flume    tsf tail | tsf ship flume+avro:// → the same Flume collector
// The Flume agent starts on an empty directory; the timed window opens when the log is renamed
// into it (so the JVM's start-up is not timed) and closes when the output holds every byte. The
// output must then equal the input byte for byte. Each JVM's start-up CPU is measured and
// subtracted from its CPU seconds, so CPU columns compare the work itself.
import { copyFileSync, mkdirSync, renameSync } from 'node:fs'
import { join } from 'node:path'
import { expectClean, expectSameBytes, rolledFiles } from '../checks.mjs'
import { bytesIn, cpuSoFar, flumeAgentConf, flumeCollectorConf, flumeMissing, startFlume } from '../flume.mjs'
import { Pipeline, sq } from '../pipeline.mjs'
import { freePort, waitForPort } from '../rsyslog.mjs'
import { missing, TSF } from '../tsf.mjs'

const AGENT_READY = /Rpc sink k1: Building RpcClient/
const COLLECTOR_READY = /Avro source r1 started/

// start-up CPU out of a JVM's figures (what it used before the timed window opened)
const withoutStartup = (procs, label, startup) =>
  procs.map((p) =>
    p.label === label && p.cpu !== undefined ? { ...p, user: Math.max(0, p.user - startup), cpu: Math.max(0, p.cpu - startup) } : p,
  )

// the log, copied next to the agent's watched directory, then renamed in: the timed window opens
const stageInput = (ctx) => {
  const inDir = join(ctx.work, 'in')
  mkdirSync(inDir, { recursive: true })
  const staged = join(inDir, 'big.staged')
  copyFileSync(ctx.log.path, staged)
  return { inDir, open: () => renameSync(staged, join(inDir, 'big.log')) }
}

const flumeCollector = async (ctx, channel = 'file') => {
  const port = await freePort()
  const out = join(ctx.work, 'flume-out')
  mkdirSync(out, { recursive: true })
  const p = startFlume(ctx, 'flume-collector', 'c', flumeCollectorConf(ctx.work, port, out, channel))
  await p.waitFor('flume-collector', COLLECTOR_READY, 180_000)
  await waitForPort(port)
  return { pipeline: p, port, out }
}

const stopAll = async (...pipelines) => {
  for (const p of pipelines) p?.signal(p.stages[0].label, 'SIGTERM')
  for (const p of pipelines) await p?.wait(60_000)
}

// Flume → Flume with CHANNEL channels on both sides
const flumeChain = (channel) => async (ctx) => {
  const input = stageInput(ctx)
  const collector = await flumeCollector(ctx, channel)
  let agent
  try {
    agent = startFlume(ctx, 'flume-agent', 'a', flumeAgentConf(ctx.work, input.inDir, collector.port, channel))
    await agent.waitFor('flume-agent', AGENT_READY, 180_000)
    const startup = cpuSoFar(agent.pidOf('flume-agent'))
    const collectorStartup = cpuSoFar(collector.pipeline.pidOf('flume-collector'))
    const started = process.hrtime.bigint()
    input.open()
    const end = await waitUntilBytes(() => bytesIn(collector.out), ctx.log.bytes, ctx.timeoutMs)
    const wall = Number(end - started) / 1e9
    await stopAll(agent, collector.pipeline)
    let procs = [...agent.processes(), ...collector.pipeline.processes()]
    procs = withoutStartup(withoutStartup(procs, 'flume-agent', startup), 'flume-collector', collectorStartup)
    const problem =
      expectClean(procs.filter((p) => !p.label.startsWith('flume-'))) ??
      (await expectSameBytes(rolledFiles(collector.out), ctx.log, "file_roll's output"))
    return {
      bytes: ctx.log.bytes,
      events: ctx.log.lines,
      wall,
      procs,
      problem,
      command: `${collector.pipeline.command}\n${agent.command}`,
      note: `JVM start-up CPU subtracted; heaps 256m; batch 1000; ${channel} channels on both sides`,
    }
  } finally {
    agent?.kill()
    collector.pipeline.kill()
  }
}

export const flumeToFlume = {
  name: 'flume-flume',
  title: 'Flume agent (TAILDIR → file ch → avro sink) → Flume collector (avro → file ch → file_roll)',
  needs: flumeMissing,
  run: flumeChain('file'),
}

export const flumeMemory = {
  name: 'flume-memory',
  title: 'Flume agent (TAILDIR → memory ch → avro sink) → Flume collector (avro → memory ch → file_roll)',
  needs: flumeMissing,
  run: flumeChain('memory'),
}

// waits until size() reaches bytes; returns the hrtime then
const waitUntilBytes = async (size, bytes, timeoutMs) => {
  const deadline = Date.now() + timeoutMs
  while (size() < bytes) {
    if (Date.now() > deadline) throw new Error(`output at ${size()} of ${bytes} bytes after ${timeoutMs / 1000} s`)
    await new Promise((r) => setTimeout(r, 20))
  }
  return process.hrtime.bigint()
}

export const flumeToTsf = {
  name: 'flume-tsf',
  title: 'Flume agent → tsf collect --flume-avro | tsf roll',
  needs: () => flumeMissing() ?? missing(['collect', 'roll'], { collect: ['--flume-avro'] }),
  async run(ctx) {
    const input = stageInput(ctx)
    const out = join(ctx.work, 'rolled')
    const collector = new Pipeline({
      dir: ctx.work,
      stages: [
        { label: 'collect', cmd: `${TSF} collect --flume-avro 127.0.0.1:0` },
        { label: 'roll', cmd: `${TSF} roll ${sq(out)}` },
      ],
    })
    let agent
    try {
      const [, port] = await collector.waitFor('collect', /flume-avro listening on [^\s:]+:(\d+)/)
      agent = startFlume(ctx, 'flume-agent', 'a', flumeAgentConf(ctx.work, input.inDir, Number(port)))
      await agent.waitFor('flume-agent', AGENT_READY, 180_000)
      const startup = cpuSoFar(agent.pidOf('flume-agent'))
      const started = process.hrtime.bigint()
      input.open()
      const end = await waitUntilBytes(() => bytesIn(out), ctx.log.bytes, ctx.timeoutMs)
      const wall = Number(end - started) / 1e9
      await stopAll(agent)
      collector.signal('collect', 'SIGTERM')
      await collector.wait(60_000)
      const procs = withoutStartup([...agent.processes(), ...collector.processes()], 'flume-agent', startup)
      const problem =
        expectClean(procs.filter((p) => !p.label.startsWith('flume-'))) ??
        (await expectSameBytes(rolledFiles(out), ctx.log, 'rolled files'))
      return {
        bytes: ctx.log.bytes,
        events: ctx.log.lines,
        wall,
        procs,
        problem,
        command: `${collector.command}\n${agent.command}`,
        note: 'JVM start-up CPU subtracted; the avro sink sends batches of 1000 and waits for each answer',
      }
    } finally {
      agent?.kill()
      collector.kill()
    }
  },
}

export const tsfToFlume = {
  name: 'tsf-flume',
  title: 'tsf tail | tsf ship flume+avro:// → Flume collector',
  needs: () => flumeMissing() ?? missing(['tail', 'ship']),
  async run(ctx) {
    const collector = await flumeCollector(ctx)
    let agent
    try {
      const collectorStartup = cpuSoFar(collector.pipeline.pidOf('flume-collector'))
      agent = new Pipeline({
        dir: ctx.work,
        stages: [
          { label: 'tail', cmd: `${TSF} tail --state ${sq(join(ctx.work, 'tail-state'))} ${sq(ctx.log.path)}` },
          { label: 'ship', cmd: `${TSF} ship flume+avro://127.0.0.1:${collector.port}` },
        ],
      })
      const started = agent.started
      await agent.wait(ctx.timeoutMs)
      const end = await waitUntilBytes(() => bytesIn(collector.out), ctx.log.bytes, ctx.timeoutMs)
      const wall = Number(end - started) / 1e9
      await stopAll(collector.pipeline)
      const procs = withoutStartup([...agent.processes(), ...collector.pipeline.processes()], 'flume-collector', collectorStartup)
      const problem =
        expectClean(procs.filter((p) => !p.label.startsWith('flume-'))) ??
        (await expectSameBytes(rolledFiles(collector.out), ctx.log, "file_roll's output"))
      return {
        bytes: ctx.log.bytes,
        events: ctx.log.lines,
        wall,
        procs,
        problem,
        command: `${collector.pipeline.command}\n${agent.command}`,
        note: "timed until file_roll's file holds every byte; JVM start-up CPU subtracted",
      }
    } finally {
      agent?.kill()
      collector.pipeline.kill()
    }
  },
}
