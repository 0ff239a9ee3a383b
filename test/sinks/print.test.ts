import { Writable } from 'node:stream'
import t from 'tap'
import { PrintSink } from '../../src/sinks/print.js'

const head = (body: string): Buffer => Buffer.from(`{"ts":0,"host":"h","body":${JSON.stringify(body)}`)

// a stdout whose reader stops reading: every write stays pending until `fail` ends it with EPIPE
const stalledStdout = (): Writable & { fail(): void } => {
  const pending: ((e?: Error) => void)[] = []
  const stream = new Writable({
    highWaterMark: 16,
    write(_chunk, _enc, done) {
      pending.push(done)
    },
  }) as Writable & { fail(): void }
  stream.fail = () => {
    const error = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' })
    for (const done of pending.splice(0)) done(error)
  }
  return stream
}

// a sink printing into a stdout that takes everything at once; text() is what it got
const printingTo = (): { sink: PrintSink; text: () => string } => {
  let text = ''
  const out = new Writable({
    write(chunk, _enc, done) {
      text += chunk.toString()
      done()
    },
  })
  return { sink: new PrintSink({ stream: out, colour: false }), text: () => text }
}

t.test('print: a reader that goes away while the sink waits for room ends the wait quietly', async (t) => {
  const out = stalledStdout()
  const sink = new PrintSink({ stream: out, colour: false })
  let durable = 0
  sink.write([head('one line that fills the buffer')], () => durable++)
  t.ok(out.writableNeedDrain, 'stdout is full')
  const waiting = sink.ready()
  out.fail()
  await t.resolves(waiting, 'ready() resolves instead of rejecting with EPIPE')
  await sink.closed
  t.equal(durable, 0, 'nothing counts as printed that the reader never got')
  sink.write([head('after the close')], () => durable++)
  t.equal(durable, 0, 'writes after the close are dropped, not printed')
})

t.test('print: events are printed as time, host and body once stdout takes them', async (t) => {
  const { sink, text } = printingTo()
  let durable = 0
  sink.write([head('GET /a'), head('tab\there')], () => durable++)
  await sink.ready()
  await new Promise((r) => setImmediate(r))
  t.equal(durable, 1, 'one callback for the batch')
  t.equal(text(), '1970-01-01T00:00:00.000Z h GET /a\n1970-01-01T00:00:00.000Z h tab\\there\n')
})

t.test('print: a header value of any JSON shape is printed, never a crash', async (t) => {
  const { sink, text } = printingTo()
  const deep = '['.repeat(100_000) + ']'.repeat(100_000)
  const odd = Buffer.from(`{"ts":0,"host":"h","body":"b","headers":{"o":{"toString":1},"n":1,"z":null,"s":"x","d":${deep}}`)
  t.doesNotThrow(() => sink.write([odd]))
  await new Promise((r) => setImmediate(r))
  t.equal(text(), '1970-01-01T00:00:00.000Z h {o={"toString":1}, n=1, z=null, s=x, d=…} b\n')
})
