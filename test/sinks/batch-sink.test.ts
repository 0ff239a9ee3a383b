// The drain loop of the server sinks, driven by small real drivers over a real EventInput: what
// it does whatever the server (the Kafka and MongoDB ship tests cover it with their servers).
import { Readable } from 'node:stream'
import t from 'tap'
import { EventInput, type InputBatch } from '../../src/core/link/reader.js'
import { Counters } from '../../src/core/metrics.js'
import type { Runtime } from '../../src/core/runtime.js'
import { runBatchSink, type BatchDriver, type FailureRun } from '../../src/sinks/batch-sink.js'
import type { ServerShipConfig } from '../../src/sinks/delivery-end.js'
import { captureStderr } from '../fixtures/stderr.js'

// A runtime reading `lines` (one plain-text event each) as stdin.
const runtime = (lines: string[]): Runtime => {
  let input: EventInput | undefined
  return {
    stop: new AbortController().signal,
    bySignal: false,
    counters: new Counters('test'),
    input: (options) =>
      (input ??= new EventInput({ ...options, stream: Readable.from([Buffer.from(lines.map((l) => `${l}\n`).join(''))]) })),
    output: () => Promise.reject(new Error('no output')),
    atAbruptExit: () => undefined,
  }
}

const config: ServerShipConfig = {
  maxLine: 1024,
  truncate: false,
  batchEvents: 1,
  batchBytes: 1024,
  linger: 0,
  connectTimeout: 1000,
  requestTimeout: 1000,
  maxBackoff: 100,
  window: 1024 * 1024,
  shutdownTimeout: 10_000,
}
const options = { where: 'test://server', what: 'taken', silence: 'no answer', resumed: 'taking', input: {} }

// One event per send; `log` tells what the loop asked of the driver, in order.
interface Send {
  body: string
  batch: InputBatch
}
const driver = (log: string[], inFlight: number): BatchDriver<Send> & { queue: Send[]; left: Map<InputBatch, number> } => {
  const queue: Send[] = []
  const left = new Map<InputBatch, number>()
  return {
    queue,
    left,
    get events() {
      return queue.length
    },
    get bytes() {
      return queue.length
    },
    push(batch) {
      for (const head of batch.heads) queue.push({ body: JSON.parse(`${head.toString()}}`).body, batch })
      left.set(batch, batch.heads.length)
      return batch.heads.length
    },
    take: () => queue.shift(),
    size: () => 1,
    send: async (send) => void log.push(`send ${send.body}`),
    delivered(send) {
      log.push(`delivered ${send.body}`)
      const n = left.get(send.batch)! - 1
      left.set(send.batch, n)
      return n === 0 ? [send.batch] : []
    },
    inFlight: () => inFlight,
    close: async () => void log.push('close'),
  }
}

t.test('ordered: a failed attempt settles the sends in flight, then it and those after it go again, in order', async (t) => {
  const log: string[] = []
  const d = driver(log, 3)
  const attempts: { body: string; fail: () => void }[] = []
  d.ordered = {
    // a's attempt fails once all three are in flight; b's and c's succeed
    attempt: (send) =>
      new Promise<void>((resolve, reject) => {
        log.push(`attempt ${send.body}`)
        attempts.push({ body: send.body, fail: () => reject(new Error('boom')) })
        if (send.body !== 'a') resolve()
        if (attempts.length === 3) attempts[0]!.fail()
      }),
    restart: async (error) => void log.push(`restart ${(error as Error).message}`),
  }
  const rt = runtime(['a', 'b', 'c'])
  const code = await runBatchSink(config, rt, d, options)
  t.equal(code, 0)
  t.same(log, [
    'attempt a',
    'attempt b',
    'attempt c',
    'restart boom',
    'send a',
    'delivered a',
    'send b',
    'delivered b',
    'send c',
    'delivered c',
    'close',
  ])
  t.equal(rt.counters.get('EventTakeSuccessCount'), 3)
})

t.test('ordered: sends that succeed are acked oldest first, several in flight', async (t) => {
  const log: string[] = []
  const d = driver(log, 2)
  d.ordered = {
    attempt: async (send) => void log.push(`attempt ${send.body}`),
    restart: async () => void log.push('restart'),
  }
  t.equal(await runBatchSink(config, runtime(['a', 'b', 'c']), d, options), 0)
  t.same(
    log.filter((l) => l.startsWith('delivered')),
    ['delivered a', 'delivered b', 'delivered c'],
  )
  t.notOk(log.includes('restart'), 'nothing restarted')
})

t.test('unordered: sends are independent; one that waits does not hold back the acks of later ones', async (t) => {
  const log: string[] = []
  const d = driver(log, 3)
  let releaseA!: () => void
  const aWaits = new Promise<void>((resolve) => (releaseA = resolve))
  d.send = async (send) => {
    log.push(`send ${send.body}`)
    if (send.body === 'a') await aWaits
  }
  const delivered = d.delivered.bind(d)
  d.delivered = (send) => {
    const done = delivered(send)
    if (send.body === 'c') releaseA()
    return done
  }
  t.equal(await runBatchSink(config, runtime(['a', 'b', 'c']), d, options), 0)
  t.same(
    log.filter((l) => l.startsWith('delivered')),
    ['delivered b', 'delivered c', 'delivered a'],
  )
})

t.test('a run of failures is said once, a changed error again, and its end with how long it lasted', async (t) => {
  const log: string[] = []
  const d = driver(log, 1)
  const errors = ['refused', 'refused', 'timed out']
  d.send = async (send, failures: FailureRun) => {
    const backoff = failures.backoff()
    for (;;) {
      const error = errors.shift()
      if (!error) return failures.succeeded()
      failures.failed(error)
      await failures.pause(backoff.next())
    }
  }
  const rt = runtime(['a'])
  const caught = captureStderr()
  let code: number
  try {
    code = await runBatchSink(config, rt, d, options)
  } finally {
    caught.restore()
  }
  t.equal(code, 0)
  const said = caught.said()
  const lines = said.split('\n').filter(Boolean)
  t.match(lines, [
    /test:\/\/server: refused; retrying, nothing is dropped$/,
    /test:\/\/server: timed out$/,
    /test:\/\/server: taking again after \d+ s$/,
  ])
  t.equal(lines.length, 3, said)
  t.equal(rt.counters.get('ConnectionFailedCount'), 3)
})

t.test('a send that cannot succeed ends the sink: the error and what stays unacked upstream', async (t) => {
  const log: string[] = []
  const d = driver(log, 1)
  d.send = async () => {
    throw new Error('test://server: refused for good')
  }
  await t.rejects(runBatchSink(config, runtime(['a', 'b']), d, options), {
    message: /^test:\/\/server: refused for good; [12] events stay unacked upstream$/,
  })
  t.equal(log.at(-1), 'close', 'the driver is closed')
})
