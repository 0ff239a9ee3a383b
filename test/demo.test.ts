import t from 'tap'
import { sh, tmpdir, tsf } from './fixtures/procs.js'

t.test('tsf demo runs the local chain and every generated line reaches the rolled files', async (t) => {
  const dir = tmpdir(t)
  const r = await sh(t, `${tsf} demo --out ${dir}/d --duration 3s --rate 500`).done
  t.equal(r.code, 0, r.stderr)
  const m = /generated (\d+) lines; (\d+) are in/.exec(r.stderr)
  t.ok(m, 'prints the summary')
  t.ok(Number(m![1]) > 0, 'lines were generated')
  t.equal(m![2], m![1], 'none missing')
  t.match(r.stderr, /agent: +tsf tail -F app.log \| tsf channel --dir q \| tsf ship 127.0.0.1:\d+/)
  t.notMatch(r.stderr, /pipeline exited with|pipeline ended on/, 'a normal stop is quiet')
})

t.test('tsf demo rejects a malformed duration with a usage error', async (t) => {
  const r = await sh(t, `${tsf} demo --duration soon`).done
  t.equal(r.code, 2)
  t.match(r.stderr, /--duration: expected a duration/)
})

t.test(
  'tsf demo --print | head: the collector ends with the pipe, the agent stops without waiting for acks that cannot come',
  async (t) => {
    const dir = tmpdir(t)
    const r = await sh(t, `${tsf} demo --print --out ${dir}/d --rate 500 | head -2`).done
    t.equal(r.stdout.split('\n').filter(Boolean).length, 2, 'head got its lines')
    t.match(r.stderr, /the collector has ended, so the agent stops without draining/)
    t.notMatch(r.stderr, /did not stop within/, 'no stage had to be killed')
    t.notMatch(r.stderr, /pipeline exited with|pipeline ended on/, 'a stop the demo made is not reported as a failure')
  },
)
