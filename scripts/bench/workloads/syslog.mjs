// W2: syslog over TCP into the collector, then into files: the same sender (every access-log line
// as an RFC 5424 message) into `tsf collect --syslog | tsf roll` and into rsyslog imtcp → omfile.
// Timed from sender start until the output holds every body; then it must equal the input.
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import { expectClean, expectSameBytes, rolledFiles } from '../checks.mjs'
import { Pipeline, sq } from '../pipeline.mjs'
import { freePort, rsyslogMissing, startRsyslog, waitForBytes, waitForPort } from '../rsyslog.mjs'
import { missing, ROOT, TSF } from '../tsf.mjs'

const sender = (ctx, port) =>
  new Pipeline({
    dir: ctx.work,
    stages: [{ label: 'sender', cmd: `node ${sq(join(ROOT, 'scripts/bench/syslog-sender.mjs'))} ${sq(ctx.log.path)} ${port}` }],
    stdout: '/dev/null',
  })

// every file roll is writing or has written (in-progress files start with a dot), not its state
export const allRollFiles = (dir) => {
  const walk = (d) => {
    let entries
    try {
      entries = readdirSync(d, { withFileTypes: true })
    } catch {
      return []
    }
    return entries.flatMap((e) => (e.name === '.tsf-roll' ? [] : e.isDirectory() ? walk(join(d, e.name)) : [join(d, e.name)]))
  }
  return walk(dir)
}

export const syslogTsf = {
  name: 'syslog',
  title: 'W2 syslog over TCP → tsf collect --syslog | tsf roll',
  needs: () => missing(['collect', 'roll'], { collect: ['--syslog'] }),
  async run(ctx) {
    const out = join(ctx.work, 'rolled')
    const collector = new Pipeline({
      dir: ctx.work,
      stages: [
        { label: 'collect', cmd: `${TSF} collect --syslog tcp://127.0.0.1:0` },
        { label: 'roll', cmd: `${TSF} roll ${sq(out)}` },
      ],
    })
    let send
    try {
      const [, port] = await collector.waitFor('collect', /(?:listening|syslog)[^\n]*?(?:127\.0\.0\.1|localhost):(\d+)/)
      send = sender(ctx, port)
      const done = await waitForBytes(() => allRollFiles(out), ctx.log.bytes, { timeoutMs: ctx.timeoutMs, pipelines: [collector] })
      const wall = Number(done - send.started) / 1e9
      await send.wait(60_000)
      collector.signal('collect', 'SIGTERM')
      await collector.wait(60_000)
      const procs = [...send.processes(), ...collector.processes()]
      const problem = expectClean(procs) ?? (await expectSameBytes(rolledFiles(out), ctx.log, 'rolled files'))
      return { bytes: ctx.log.bytes, events: ctx.log.lines, wall, procs, problem, command: `${collector.command}\n${send.command}` }
    } finally {
      send?.kill()
      collector.kill()
    }
  },
}

export const syslogRsyslog = {
  name: 'rsyslog-syslog',
  title: 'W2 rsyslog: syslog over TCP → imtcp → omfile',
  needs: rsyslogMissing,
  async run(ctx) {
    const port = await freePort()
    const out = join(ctx.work, 'out.log')
    const collector = startRsyslog(ctx, 'rsyslog-collector', 'collector', { PORT: port, OUT: out })
    let send
    try {
      await waitForPort(port)
      send = sender(ctx, port)
      const done = await waitForBytes(() => [out], ctx.log.bytes, { timeoutMs: ctx.timeoutMs, pipelines: [collector] })
      const wall = Number(done - send.started) / 1e9
      await send.wait(60_000)
      collector.signal('rsyslog-collector', 'SIGTERM')
      await collector.wait(30_000)
      const procs = [...send.processes(), ...collector.processes()]
      const problem = expectClean(procs) ?? (await expectSameBytes([out], ctx.log, 'omfile output'))
      return { bytes: ctx.log.bytes, events: ctx.log.lines, wall, procs, problem, command: `${collector.command}\n${send.command}` }
    } finally {
      send?.kill()
      collector.kill()
    }
  },
}
