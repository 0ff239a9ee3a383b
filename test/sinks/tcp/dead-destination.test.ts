import t from 'tap'
import { closedPort, sh, tsf } from '../../fixtures/procs.js'

// flush() waited on 'progress' with a timeout and left a listener behind at each round: after ten
// rounds on a dead destination Node printed MaxListenersExceededWarning.
t.test('waiting on a dead destination prints no runtime warning, and the failure is one line', async (t) => {
  const port = await closedPort()
  const r = await sh(t, `seq 1 1000 | ${tsf} ship 127.0.0.1:${port} --max-penalty 50ms --shutdown-timeout 3s`).done
  t.equal(r.code, 1)
  t.notMatch(r.stderr, /Warning|\(node:\d+\)/, 'no Node warning')
  t.match(r.stderr, /tsf ship: error: delivery failed: 1000 events unacked after 3000 ms .*connection refused\n$/)
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace')
})
