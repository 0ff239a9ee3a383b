// pipeShared looks at every process's fds once, then only at new ones (stdout-kind.ts): a second
// writer that comes later is still found, a waiting parent never counts, a writer gone is gone.
import t from 'tap'
import { fixture, sh, tmpdir } from '../../fixtures/procs.js'

const P = fixture('pipe-shared-probe.mjs')

for (const [name, cmd] of [
  ['alone in its pipe', `${P} | cat`],
  ['under a waiting parent (timeout holds the pipe too)', `timeout 120 ${P} | cat`],
  ['in a subshell that waits for it', `{ ${P}; true; } | cat`],
]) {
  t.test(`pipeShared ${name}: a later child writer counts, the parent does not`, async (t) => {
    const r = await sh(t, cmd, { cwd: tmpdir(t) }).done
    t.equal(r.code, 0, r.stderr)
    t.equal(r.stderr, 'first false\nagain false\nchild true\ngone false\n')
  })
}
