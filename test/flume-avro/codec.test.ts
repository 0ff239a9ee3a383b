// Flume's avro RPC codec against the bytes a real Flume 1.11.0 sink and source exchanged
// (fixtures/captures, recorded between two Flume processes), plus round trips and hostile input.
import t from 'tap'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { inflateSync, constants as zlibConstants } from 'node:zlib'
import { AvroError, AvroReader, writeLong } from '../../src/flume-avro/avro.js'
import {
  decodeHandshakeRequest,
  decodeHandshakeResponse,
  encodeHandshakeRequest,
  encodeHandshakeResponse,
  FLUME_PROTOCOL_HASH,
  HandshakeMatch,
  serverMatch,
} from '../../src/flume-avro/handshake.js'
import { decodeAnswer, errorAnswer, FlumeStatus, statusAnswer } from '../../src/flume-avro/messages.js'
import { encodeFrame, frameBuffers, NettyFrameDecoder, type NettyFrame } from '../../src/flume-avro/netty-frames.js'
import { FLUME_PROTOCOL_TEXT } from '../../src/flume-avro/protocol-text.js'
import { decodeEvents } from '../../src/sources/flume-avro/events.js'
import { FlumeBatchEncoder } from '../../src/sinks/flume-avro/encode.js'
import { fuzz, mutations } from '../fixtures/fuzz.js'

const fixture = (name: string): Buffer => readFileSync(new URL(`fixtures/${name}`, import.meta.url))

const framesOf = (bytes: Buffer, chunk = bytes.length): NettyFrame[] => {
  const out: NettyFrame[] = []
  const d = new NettyFrameDecoder(1 << 20)
  for (let i = 0; i < bytes.length; i += chunk) d.push(bytes.subarray(i, i + chunk), (f) => out.push(f))
  return out
}

const parseHead = (head: string | Buffer): Record<string, unknown> => JSON.parse(`${head.toString()}}`) as Record<string, unknown>

t.test("the protocol text is Flume 1.11.0's, byte for byte: its MD5 is the hash Flume's sink sends", async (t) => {
  t.equal(FLUME_PROTOCOL_TEXT, fixture('flume-1.11.0-protocol.json').toString('utf8'))
  t.equal(createHash('md5').update(FLUME_PROTOCOL_TEXT).digest('hex'), '86aadae2c45474c0fe93ffd0f2350a65')
  t.equal(FLUME_PROTOCOL_HASH.toString('hex'), '86aadae2c45474c0fe93ffd0f2350a65')
})

t.test("a Flume sink's two appendBatch calls (plain capture), fed in chunks of every size", async (t) => {
  const c2s = fixture('captures/plain/conn1.c2s.bin')
  for (const chunk of [1, 3, 7, 64, c2s.length]) {
    const frames = framesOf(c2s, chunk)
    t.same(
      frames.map((f) => f.serial),
      [1, 2],
      `serials (chunks of ${chunk})`,
    )
  }
  const [first, second] = framesOf(c2s)
  const r = new AvroReader().reset(first!.payload)
  const hs = decodeHandshakeRequest(r)
  t.equal(hs.clientHash.toString('hex'), '86aadae2c45474c0fe93ffd0f2350a65')
  t.equal(hs.clientProtocol, undefined, 'no protocol text: Flume sends only the hash')
  t.equal(serverMatch(hs, new Set()), HandshakeMatch.both)
  t.same(encodeHandshakeRequest(false), first!.payload.subarray(0, 35), 'our sink sends the same handshake bytes as Flume')
  r.skipBytesMap()
  t.equal(r.string(), 'appendBatch')
  const heads = decodeEvents(r, true, 42)
  t.equal(r.left, 0, 'the whole call is read')
  const events = heads.map(parseHead)
  t.same(
    events.map((e) => e.body),
    ['GET /index.html 200', 'POST /api/orders 201', 'café body with UTF-8', '', 'fifth line, after an empty one'],
  )
  t.same(events[0], {
    body: 'GET /index.html 200',
    ts: 1796204662314,
    host: '127.0.0.1',
    headers: { byteoffset: '0', file: '/tmp/flume-avro-capture/plain/app.log', service: 'web' },
  })
  const r2 = new AvroReader().reset(second!.payload)
  r2.skipBytesMap()
  t.equal(r2.string(), 'appendBatch', 'later calls carry no handshake')
  t.equal(decodeEvents(r2, true, 42).length, 2)
})

t.test("answers as a Flume source writes them: the capture's OK and FAILED decode, ours decode the same", async (t) => {
  const [ok1, ok2] = framesOf(fixture('captures/plain/conn1.s2c.bin'))
  const r = new AvroReader().reset(ok1!.payload)
  t.equal(decodeHandshakeResponse(r).match, HandshakeMatch.both)
  t.same(decodeAnswer(r), { status: FlumeStatus.ok })
  t.same(
    ok1!.payload,
    Buffer.concat([encodeHandshakeResponse(HandshakeMatch.both), statusAnswer(FlumeStatus.ok)]),
    'our first answer has the same bytes',
  )
  t.same(ok2!.payload, statusAnswer(FlumeStatus.ok), 'and the later ones')
  const [failed] = framesOf(fixture('captures/failed/conn1.s2c.bin'))
  const rf = new AvroReader().reset(failed!.payload)
  decodeHandshakeResponse(rf)
  t.same(decodeAnswer(rf), { status: FlumeStatus.failed })
  t.same(decodeAnswer(new AvroReader().reset(errorAnswer('No such remote message: nope'))), { error: 'No such remote message: nope' })
})

t.test("an unknown client hash gets NONE with Flume's protocol text (probe capture); its text then gets served", async (t) => {
  const [none] = framesOf(fixture('captures/probe/conn1.s2c.bin'))
  t.same(encodeHandshakeResponse(HandshakeMatch.none), none!.payload, 'byte for byte what the Flume source answered')
  const hs = decodeHandshakeResponse(new AvroReader().reset(none!.payload))
  t.equal(hs.serverProtocol, FLUME_PROTOCOL_TEXT)
  const known = new Set<string>()
  const unknown = { clientHash: Buffer.alloc(16, 1), serverHash: Buffer.alloc(16) }
  t.equal(serverMatch(unknown, known), HandshakeMatch.none)
  t.equal(serverMatch({ ...unknown, clientProtocol: '{}' }, known), HandshakeMatch.client, 'text sent, our hash not guessed: CLIENT')
  t.equal(serverMatch(unknown, known), HandshakeMatch.client, 'the hash is known from then on')
  t.equal(decodeHandshakeRequest(new AvroReader().reset(encodeHandshakeRequest(true))).clientProtocol, FLUME_PROTOCOL_TEXT)
})

t.test('deflate capture: one zlib stream per direction, sync-flushed per frame', async (t) => {
  const c2s = inflateSync(fixture('captures/deflate/conn1.c2s.bin'), { finishFlush: zlibConstants.Z_SYNC_FLUSH })
  const frames = framesOf(c2s)
  t.equal(frames.length, 2)
  const r = new AvroReader().reset(frames[0]!.payload)
  decodeHandshakeRequest(r)
  r.skipBytesMap()
  t.equal(r.string(), 'appendBatch')
  t.equal(decodeEvents(r, true, 0).length, 5)
})

t.test('frames: empty buffers and any split are one message; hostile counts and lengths are refused', async (t) => {
  const frame = encodeFrame(7, [Buffer.from('ab'), Buffer.alloc(0), Buffer.from('c')])
  t.same(framesOf(frame, 1), [{ serial: 7, payload: Buffer.from('abc') }])
  t.same(Buffer.concat(frameBuffers(9, [Buffer.from('x')])), Buffer.from([0, 0, 0, 9, 0, 0, 0, 1, 0, 0, 0, 1, 0x78]))
  t.throws(
    () => framesOf(Buffer.from([0, 0, 0, 1, 0, 0, 0, 0])),
    { name: 'FrameError' },
    'a frame of no buffers (Java would wait for ever)',
  )
  t.throws(() => framesOf(Buffer.from([0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff])), { name: 'FrameError' }, 'an absurd buffer count')
  t.throws(
    () => framesOf(Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 0x7f, 0xff, 0xff, 0xff])),
    { name: 'FrameError' },
    'a buffer larger than the limit',
  )
})

t.test('tsf events → AvroFlumeEvents → tsf events: bodies, exact bytes, headers, src/seq and other fields', async (t) => {
  const heads = [
    '{"body":"plain line","ts":1700000000123,"host":"web-1","headers":{"service":"web","file":"/var/log/a.log"},"src":"A.B","seq":7,"pos":120',
    '{"body":"tab\\there \\"quoted\\" \\u00e9","ts":5',
    Buffer.from('{"body":"bytes","body64":"/wBhYg==","ts":6'),
    '{"body":"","ts":7,"headers":{"k\\n":"v\\\\","timestamp":"ignored when ts is set"},"cont":true,"custom":{"a":[1,"}"]},"flag":false',
    '{ "body" : "spaced" , "ts" : 8 , "host" : "h" ',
  ]
  const enc = new FlumeBatchEncoder()
  const params = enc.encode(heads)
  const back = decodeEvents(new AvroReader().reset(params), true, 0).map(parseHead)
  t.same(back[0], {
    body: 'plain line',
    ts: 1700000000123,
    host: 'web-1',
    headers: { service: 'web', file: '/var/log/a.log' },
    src: 'A.B',
    seq: 7,
    pos: 120,
  })
  t.same(back[1], { body: 'tab\there "quoted" é', ts: 5 })
  t.same(back[2], { body: '\ufffd\u0000ab', body64: '/wBhYg==', ts: 6 }, 'body64 gives the exact bytes')
  t.same(back[3], { body: '', ts: 7, headers: { 'k\n': 'v\\' }, cont: true, custom: { a: [1, '}'] }, flag: false })
  t.same(back[4], { body: 'spaced', ts: 8, host: 'h' })
  t.same(enc.encode([]), Buffer.from([0]), 'an empty batch is the end block alone')
  t.same(enc.encode(heads), params, 'the encoder is reusable')
})

t.test('Flume headers that look like tsf fields but are not become plain headers', async (t) => {
  // hand-made event: headers tsf.seq=x (not a number), tsf.body=y (reserved), timestamp=abc
  const kv = (k: string, v: string): Buffer[] => [Buffer.from([k.length * 2]), Buffer.from(k), Buffer.from([v.length * 2]), Buffer.from(v)]
  const event = Buffer.concat([
    Buffer.from([6]),
    ...kv('tsf.seq', 'x'),
    ...kv('tsf.body', 'y'),
    ...kv('timestamp', 'abc'),
    Buffer.from([0]),
    Buffer.from([2]),
    Buffer.from('b'),
  ])
  const [head] = decodeEvents(new AvroReader().reset(event), false, 99)
  t.same(parseHead(head!), { body: 'b', ts: 99, headers: { 'tsf.seq': 'x', 'tsf.body': 'y', timestamp: 'abc' } })
})

t.test('varints: zig-zag both ways, negative block counts accepted', async (t) => {
  const b = Buffer.alloc(20)
  for (const n of [0, 1, -1, 63, -64, 64, 1334, 2 ** 31, -(2 ** 40), 2 ** 52]) {
    const end = writeLong(b, 0, n)
    const r = new AvroReader().reset(b.subarray(0, end))
    t.equal(r.long(), n)
  }
  // a map block with a negative count (-1) and its byte size, as Avro allows
  const r = new AvroReader().reset(Buffer.from([1, 8, 2, 0x61, 2, 0x62, 0]))
  t.equal(r.blockCount(), 1)
  t.throws(() => new AvroReader().reset(Buffer.from([0x80])).long(), { name: 'AvroError' })
})

t.test('hostile calls: the decoder throws only its own errors, never reads past the message', async (t) => {
  const [first] = framesOf(fixture('captures/plain/conn1.c2s.bin'))
  const valid = first!.payload
  await fuzz(t, 'flume avro call decoder', { cases: 1500 }, (rng) => {
    const input = rng.pick([rng.bytes(rng.int(0, 200)), ...mutations(rng, valid)])
    const r = new AvroReader().reset(input)
    try {
      decodeHandshakeRequest(r)
      r.skipBytesMap()
      r.string()
      const heads = decodeEvents(r, true, 0)
      for (const h of heads) JSON.parse(`${h.toString()}}`) // every head is valid JSON
    } catch (e) {
      if (!(e instanceof AvroError)) throw e
    }
  })
  const enc = new FlumeBatchEncoder()
  await fuzz(t, 'flume avro encoder on hostile heads', { cases: 1500 }, (rng) => {
    const head = rng.pick([rng.bytes(rng.int(0, 120)), ...mutations(rng, '{"body":"x\\"y","ts":1,"headers":{"a":"b"},"src":"s","seq":2')])
    const params = enc.encode([head])
    // whatever the head, the output is a well-formed batch of one event
    const r = new AvroReader().reset(params)
    t.equal(r.blockCount(), 1)
    decodeEvents(new AvroReader().reset(params), true, 0)
  })
})

// A frame's buffers cost 4 wire bytes each when empty, 5 with one byte: a decoder keeping one
// Buffer object per buffer turned one 64 MiB frame into >1 GiB of heap (measured: collect at 1.2 GB
// RSS from one connection). Tiny buffers are copied together; empty ones leave nothing.
t.test('a frame of many empty or one-byte buffers holds about its bytes, not an object per buffer', async (t) => {
  const n = 2_000_000
  for (const size of [0, 1]) {
    const d = new NettyFrameDecoder(64 * 1024 * 1024)
    const head = Buffer.alloc(8)
    head.writeUInt32BE(7, 0)
    head.writeUInt32BE(n, 4)
    const part = Buffer.alloc(4 + size, 0x61)
    part.writeUInt32BE(size, 0)
    const chunk = Buffer.concat(Array.from({ length: 4096 }, () => part))
    const frames: NettyFrame[] = []
    const before = process.memoryUsage().heapUsed
    d.push(head, (f) => frames.push(f))
    // all but the last buffer: whatever the decoder keeps for them is live now
    for (let left = n - 1; left > 0; left -= 4096) d.push(chunk.subarray(0, Math.min(left, 4096) * part.length), (f) => frames.push(f))
    const grown = process.memoryUsage().heapUsed - before
    t.ok(grown < 48 * 1024 * 1024, `${n} buffers of ${size} bytes held ${Math.round(grown / 1048576)} MiB of heap`)
    d.push(part, (f) => frames.push(f))
    t.equal(frames.length, 1)
    t.equal(frames[0]!.serial, 7)
    t.equal(frames[0]!.payload.length, n * size)
    t.ok(
      frames[0]!.payload.every((b) => b === 0x61),
      'the payload is the buffers concatenated',
    )
  }
})

t.test('decodeEvents refuses a call of more events than it may hold (empty events: 2 wire bytes each)', async (t) => {
  const params = (n: number): Buffer => {
    const out = Buffer.alloc(10 + 2 * n + 1)
    const at = writeLong(out, 0, n)
    return out.subarray(0, at + 2 * n + 1)
  }
  t.equal(decodeEvents(new AvroReader().reset(params(10)), true, 0, 10).length, 10, 'at the bound: taken')
  t.throws(() => decodeEvents(new AvroReader().reset(params(11)), true, 0, 10), AvroError, 'past it: an AvroError')
})
