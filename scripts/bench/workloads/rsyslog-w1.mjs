// W1 for rsyslog, in the same run and on the same file: imfile → omfwd → imtcp → omfile (two
// rsyslogd, agent and collector, configs in bench/rsyslog/). Timed from agent start until the
// collector's file holds the whole input; then it must equal the input byte for byte.
import { join } from 'node:path'
import { expectClean, expectSameBytes } from '../checks.mjs'
import { freePort, rsyslogMissing, startRsyslog, waitForBytes, waitForPort } from '../rsyslog.mjs'

export default {
  name: 'rsyslog',
  title: 'W1 rsyslog: imfile → omfwd → imtcp → omfile',
  needs: rsyslogMissing,
  async run(ctx) {
    const port = await freePort()
    const out = join(ctx.work, 'out.log')
    const collector = startRsyslog(ctx, 'rsyslog-collector', 'collector', { PORT: port, OUT: out })
    let agent
    try {
      await waitForPort(port)
      agent = startRsyslog(ctx, 'rsyslog-agent', 'agent', { PORT: port, INPUT: ctx.log.path })
      const done = await waitForBytes(() => [out], ctx.log.bytes, { timeoutMs: ctx.timeoutMs, pipelines: [agent, collector] })
      const wall = Number(done - agent.started) / 1e9
      agent.signal('rsyslog-agent', 'SIGTERM')
      collector.signal('rsyslog-collector', 'SIGTERM')
      await agent.wait(30_000)
      await collector.wait(30_000)
      const procs = [...agent.processes(), ...collector.processes()]
      const problem = expectClean(procs) ?? (await expectSameBytes([out], ctx.log, 'omfile output'))
      return {
        bytes: ctx.log.bytes,
        events: ctx.log.lines,
        wall,
        procs,
        problem,
        command: `${collector.command}\n${agent.command}`,
        note: "rsyslogd runs until stopped: its wall time includes the wait for SIGTERM after the last line landed; the timed window ends when the last line is in the collector's file",
      }
    } finally {
      agent?.kill()
      collector.kill()
    }
  },
}
