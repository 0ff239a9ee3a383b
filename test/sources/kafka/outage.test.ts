// collect --from kafka:// stopped while no broker answers (an outage): it used to end with a
// kafkajs stack trace and exit 70 (the consumer was paused before it ever ran). No broker is
// needed: the URL points at a port nobody listens on.
import t from 'tap'
import { closedPort, sh, tsf, until } from '../../fixtures/procs.js'

t.test('SIGTERM during a broker outage: exit 0, one line, no stack trace', async (t) => {
  const port = await closedPort()
  const run = sh(t, `exec ${tsf} collect --from kafka://127.0.0.1:${port}/outage --group g > /dev/null`)
  await until(() => /connection refused .*retrying, nothing is lost/.test(run.stderr()), 30_000, 'the retry line', run.stderr)
  process.kill(run.child.pid!, 'SIGTERM')
  const r = await run.done
  t.equal(r.code, 0, r.stderr)
  t.match(r.stderr, /stopped before kafka:\/\/127\.0\.0\.1:\d+\/outage could be reached: nothing was consumed/)
  t.notMatch(r.stderr, /internal error|KafkaJS|\n\s+at /, 'no stack trace')
})
