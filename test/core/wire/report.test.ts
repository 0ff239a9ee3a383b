// The agent report frame: its encoding, its limits, and its negotiation in the hello, against a
// collector that takes reports and one that predates them (which would close the connection on an
// unknown frame type, so it must never get one).
import { createServer, type Socket } from 'node:net'
import t from 'tap'
import { decodeReport, MAX_REPORT_BYTES, REPORT_FRAME, reportFrame, type AgentReport } from '../../../src/core/wire/report.js'
import { FrameDecoder, FrameType } from '../../../src/core/wire/frames.js'
import { challengeLine, helloLine, parseHandshakeLine } from '../../../src/core/wire/handshake.js'
import { sh, tsf, until } from '../../fixtures/procs.js'

const parse = (line: string) => parseHandshakeLine(line.trimEnd())

const report: AgentReport = {
  v: 1,
  host: 'h1',
  pid: 42,
  started: 1,
  at: 2,
  ship: { ChannelSize: 3 },
  failovers: 0,
  errors: 1,
  lastError: { at: 2, message: 'c1: connection refused' },
}

t.test('a report frame round-trips; oversize or malformed payloads are not reports', async (t) => {
  const frame = reportFrame(report)!
  t.equal(frame[0], REPORT_FRAME)
  const frames: { type: number; payload: Buffer }[] = []
  new FrameDecoder(1 << 20).push(frame, (f) => frames.push(f))
  t.equal(frames[0]!.type, FrameType.report)
  t.same(decodeReport(frames[0]!.payload), report)
  t.equal(reportFrame({ ...report, host: 'x'.repeat(MAX_REPORT_BYTES) }), undefined, 'too big: not sent')
  t.equal(decodeReport(Buffer.from('{"v":2,"host":"h"}')), undefined, 'unknown version')
  t.equal(decodeReport(Buffer.from('not json')), undefined)
  t.equal(decodeReport(Buffer.from('[]')), undefined)
})

t.test('the hello offers reports and the challenge accepts them; peers without the field ignore it', async (t) => {
  t.equal(parse(helloLine('n'.repeat(24), false, true))!.fields.report, '1')
  t.notOk('report' in parse(helloLine('n'.repeat(24), true))!.fields)
  t.equal(parse(challengeLine('n'.repeat(24), false, false, false, true))!.fields.report, '1')
  t.notOk('report' in parse(challengeLine('n'.repeat(24), false, false, false))!.fields)
})

// A minimal collector: handshake (with or without report=1), acks every batch, records frame types.
const fakeCollector = async (t: Tap.Test, offerReports: boolean): Promise<{ port: number; types: number[]; hello: () => string }> => {
  const types: number[] = []
  let hello = ''
  const server = createServer((socket: Socket) => {
    let buf = Buffer.alloc(0)
    let step = 0
    const decoder = new FrameDecoder(1 << 24)
    socket.on('data', (chunk: Buffer) => {
      if (step === 2) {
        return decoder.push(chunk, (f) => {
          types.push(f.type)
          if (f.type === FrameType.batch) socket.write(Buffer.from([0x41, 0, ...u32(f.id), 0, 0, 0, 0, 0, 0, 0, 0]))
        })
      }
      buf = Buffer.concat([buf, chunk])
      for (let nl = buf.indexOf(10); nl !== -1 && step < 2; nl = buf.indexOf(10)) {
        const line = buf.toString('utf8', 0, nl)
        buf = buf.subarray(nl + 1)
        if (step === 0) {
          hello = line
          socket.write(`TSF/1 CHALLENGE nonce=${'s'.repeat(24)} auth=none compress=none${offerReports ? ' report=1' : ''}\n`)
        } else socket.write('TSF/1 OK proof=-\n')
        step++
      }
      if (step === 2 && buf.length) decoder.push(buf, (f) => types.push(f.type))
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  t.teardown(() => server.close())
  return { port: (server.address() as { port: number }).port, types, hello: () => hello }
}
const u32 = (n: number): number[] => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]

t.test('ship sends reports only to a collector that said report=1', async (t) => {
  const taking = await fakeCollector(t, true)
  const old = await fakeCollector(t, false)
  const started = Date.now()
  const a = sh(t, `{ echo one; sleep 30; } | ${tsf} ship 127.0.0.1:${taking.port} --report-interval 100ms`)
  const b = sh(t, `{ echo one; sleep 30; } | ${tsf} ship 127.0.0.1:${old.port} --report-interval 100ms`)
  t.teardown(() => [a, b].forEach((p) => p.child.kill()))
  await until(
    () => taking.types.filter((x) => x === REPORT_FRAME).length >= 3,
    20_000,
    'three reports',
    () => JSON.stringify(taking.types),
  )
  const took = Date.now() - started
  t.match(taking.hello(), / report=1$/, 'ship offers reports')
  t.ok(taking.types.includes(FrameType.batch), 'and sends its batch')
  // the old collector: as long again as three reports took the other, and longer still
  await until(() => old.types.includes(FrameType.batch) && Date.now() - started > took * 2, 20_000, 'the batch to the old collector')
  t.same(
    old.types.filter((x) => x !== FrameType.batch),
    [],
    'an old collector never gets a frame it does not know',
  )
})
