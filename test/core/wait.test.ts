import t from 'tap'
import { EventEmitter } from 'node:events'
import { Changes, eventOrTimeout, pause } from '../../src/core/wait.js'

t.test('pause ends when its signal aborts, without rejecting, and clears its timer', async (t) => {
  const stop = new AbortController()
  const waiting = pause(3_600_000, stop.signal)
  stop.abort()
  await waiting
  t.pass('an hour-long pause ended on abort')
  await pause(3_600_000, stop.signal)
  t.pass('a pause on an aborted signal returns at once')
  let done = false
  const guard = new AbortController()
  await Promise.race([
    pause(1).then(() => {
      done = true
    }),
    pause(60_000, guard.signal),
  ])
  guard.abort()
  t.ok(done, 'without a signal it waits its time')
})

t.test('eventOrTimeout resolves on the event or the timeout, and leaves no listener behind', async (t) => {
  const e = new EventEmitter()
  const waiting = eventOrTimeout(e, 'wake', 3_600_000)
  e.emit('wake')
  await waiting
  t.equal(e.listenerCount('wake'), 0, 'the listener went with the event')
  await eventOrTimeout(e, 'wake', 1)
  t.equal(e.listenerCount('wake'), 0, 'and with the timeout')
})

t.test('Changes wakes every waiter once, on the change or its timeout, and keeps none behind', async (t) => {
  const changes = new Changes()
  let woken = 0
  const waiting = [changes.next(3_600_000), changes.next()].map((p) => p.then(() => woken++))
  changes.changed()
  await Promise.all(waiting)
  t.equal(woken, 2, 'both woken by one change, the hour-long timer cleared')
  await changes.next(1)
  t.pass('a timeout wakes a waiter without a change')
  const late = changes.next().then(() => woken++)
  await Promise.resolve()
  t.equal(woken, 2, 'a waiter that came after the change waits for the next one')
  changes.changed()
  await late
  t.equal(woken, 3)
})
