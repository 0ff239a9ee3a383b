// What every source says the same way: lines over --max-line, and events unacked at its end.
import t from 'tap'
import type { Runtime } from '../../src/core/runtime.js'
import { reportUnacked, warnOversize } from '../../src/sources/source-end.js'
import { captureStderr } from '../fixtures/stderr.js'

const fakeRuntime = (bySignal = true): { rt: Runtime; counted: Map<string, number> } => {
  const counted = new Map<string, number>()
  const rt = { bySignal, counters: { add: (name: string, n = 1) => counted.set(name, (counted.get(name) ?? 0) + n) } }
  return { rt: rt as unknown as Runtime, counted }
}

const stderrOf = (t: Tap.Test, f: () => void): string => {
  const caught = captureStderr()
  try {
    f()
  } finally {
    caught.restore()
  }
  return caught.said()
}

t.test('an oversize line is counted every time and said once per key', async (t) => {
  const { rt, counted } = fakeRuntime()
  const said = stderrOf(t, () => {
    warnOversize(rt, 'oversize:/a', '/a', { maxLine: 100, truncate: false }, 2, 'said once per file')
    warnOversize(rt, 'oversize:/a', '/a', { maxLine: 100, truncate: false }, 3, 'said once per file')
  })
  t.equal(counted.get('OversizeLineCount'), 5)
  t.equal(said, 'tsf: /a: a line longer than 100 bytes was cut into pieces marked "cont" (counted, said once per file)\n')
  const truncated = stderrOf(t, () => warnOversize(rt, 'oversize:/b', '/b', { maxLine: 7, truncate: true }, 1, 'said once'))
  t.match(truncated, /\/b: a line longer than 7 bytes was truncated \(the rest dropped, flagged "truncated"\) \(counted, said once\)/)
})

t.test('events unacked at the end: an error unless the source was stopped', async (t) => {
  const { rt } = fakeRuntime(true)
  t.equal(
    stderrOf(t, () => reportUnacked(rt, 0, false, '30000 ms', '')),
    '',
    'nothing unacked: nothing said',
  )
  let thrown: unknown
  const said = stderrOf(t, () => {
    try {
      reportUnacked(rt, 3, false, '30000 ms', ': they stay')
    } catch (e) {
      thrown = e
    }
  })
  t.equal(said, 'tsf: 3 events not acked by the downstream within 30000 ms: they stay\n')
  t.match(thrown, { message: '3 events left unacked' })
  t.doesNotThrow(() => stderrOf(t, () => reportUnacked(rt, 3, true, '30000 ms', '')), 'stopped by SIGTERM: said, not an error')
  const { rt: headGone } = fakeRuntime(false)
  t.match(
    stderrOf(t, () => reportUnacked(headGone, 2, true, '30000 ms', '; lost')),
    /2 events not delivered \(stdout went away\); lost/,
  )
})
