// W3: `cat events.ndjson | tsf channel --dir q > /dev/null` with the default fsync policy: append,
// group-commit fsync, ack upstream, stream on, delete acked segments; exits when all is drained.
import { join } from 'node:path'
import { expectClean } from '../checks.mjs'
import { Pipeline, sq } from '../pipeline.mjs'
import { missing, TSF } from '../tsf.mjs'

export default {
  name: 'channel',
  title: 'W3 cat events.ndjson | tsf channel --dir q > /dev/null',
  needs: () => missing(['channel']),
  async run(ctx) {
    const events = await ctx.events()
    const p = new Pipeline({
      dir: ctx.work,
      stages: [
        { label: 'cat', cmd: `cat ${sq(events.path)}` },
        { label: 'channel', cmd: `${TSF} channel --dir ${sq(join(ctx.work, 'q'))}` },
      ],
      stdout: '/dev/null',
    })
    await p.wait(ctx.timeoutMs)
    const procs = p.processes()
    // the output is discarded: the check is that both ends exited 0 (the channel only exits 0
    // once everything it took was passed on)
    return {
      bytes: events.bytes,
      events: events.lines,
      wall: p.wall,
      procs,
      problem: expectClean(procs),
      command: p.command,
      note: 'input is the access log as tsf events; output discarded, so the check is exit status only',
    }
  },
}
