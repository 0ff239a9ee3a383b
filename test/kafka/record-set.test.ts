// The one-pass record batch decoder (src/kafka/record-set.ts) and its Batch (fetch-batch.ts) against
// kafkajs' own decoder and Batch on the same bytes: random and hostile records (null keys and
// values, empty ones, headers with null values and repeated names, large values, negative and
// append-time timestamps), every codec, control batches and aborted transactions, a batch cut off
// at the end of a fetch, and bytes it must leave to kafkajs.
import { gzipSync } from 'node:zlib'
import { createRequire } from 'node:module'
import t, { type Test } from 'tap'
import '../../src/kafka/client.js'
import { crc32c } from '../../src/kafka/crc32c.js'
import { FetchBatch } from '../../src/kafka/fetch-batch.js'
import { KafkajsBatch, kafkajsDecodeMessages } from '../../src/kafka/kafkajs-patches.js'
import { decodeRecordSet, NotDecodable, RecordSet, type DecodedMessage } from '../../src/kafka/record-set.js'
import { Rng } from '../fixtures/fuzz.js'

const require = createRequire(import.meta.url)
type KafkaDecoder = Parameters<typeof kafkajsDecodeMessages>[0]
const Decoder = require('kafkajs/src/protocol/decoder') as new (buf: Buffer) => KafkaDecoder
// what every fetch response version ≥ 4 calls (patched: ours, and kafkajs' when ours gives up)
const patchedDecodeMessages = require('kafkajs/src/protocol/requests/fetch/v4/decodeMessages.js') as (
  d: KafkaDecoder,
) => Promise<RecordSet | DecodedMessage[]>
const snappy = (require('kafkajs-snappy') as () => { compress(e: { buffer: Buffer }): Promise<Buffer> })()

// ---- a record batch encoder with every knob (kafkajs' own cannot write control batches, append
// times or odd counts) --------------------------------------------------------------------------

const varlong = (v: bigint): Buffer => {
  let u = BigInt.asUintN(64, (v << 1n) ^ (v >> 63n))
  const out: number[] = []
  while (u >= 0x80n) {
    out.push(Number(u & 0x7fn) | 0x80)
    u >>= 7n
  }
  out.push(Number(u))
  return Buffer.from(out)
}
const varint = (v: number): Buffer => varlong(BigInt(v))
const bytes = (b: Buffer | null): Buffer => (b === null ? varint(-1) : Buffer.concat([varint(b.length), b]))

interface TestRecord {
  offsetDelta: number
  timestampDelta: bigint
  key: Buffer | null
  value: Buffer | null
  headers: [string | null, Buffer | null][]
}
const encodeRecord = (r: TestRecord): Buffer => {
  const body = Buffer.concat([
    Buffer.from([0]),
    varlong(r.timestampDelta),
    varint(r.offsetDelta),
    bytes(r.key),
    bytes(r.value),
    varint(r.headers.length),
    ...r.headers.map(([k, v]) => Buffer.concat([bytes(k === null ? null : Buffer.from(k)), bytes(v)])),
  ])
  return Buffer.concat([varint(body.length), body])
}

// LZ4 and zstd frames of stored (uncompressed) blocks: what tsf cannot compress it can still frame
const lz4Frame = (data: Buffer): Buffer => {
  const blocks: Buffer[] = []
  for (let at = 0; at < data.length; at += 65536) {
    const block = data.subarray(at, at + 65536)
    const size = Buffer.alloc(4)
    size.writeUInt32LE((block.length | 0x80000000) >>> 0)
    blocks.push(size, block)
  }
  return Buffer.concat([Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82]), ...blocks, Buffer.alloc(4)])
}
const zstdFrame = (data: Buffer): Buffer => {
  const head = Buffer.alloc(9)
  head.writeUInt32LE(0xfd2fb528, 0)
  head[4] = 0xa0 // single segment, 4-byte content size
  head.writeUInt32LE(data.length, 5)
  const blocks: Buffer[] = []
  for (let at = 0; at < data.length || at === 0; at += 131072) {
    const block = data.subarray(at, at + 131072)
    const last = at + 131072 >= data.length ? 1 : 0
    const h = (block.length << 3) | last // raw block
    blocks.push(Buffer.from([h & 0xff, (h >> 8) & 0xff, (h >> 16) & 0xff]), block)
    if (last) break
  }
  return Buffer.concat([head, ...blocks])
}

interface TestBatch {
  baseOffset: bigint
  attributes: number // codec | 0x08 append time | 0x10 transactional | 0x20 control
  firstTimestamp: bigint
  maxTimestamp: bigint
  producerId: bigint
  records: TestRecord[]
  count?: number
}
const encodeBatch = async (b: TestBatch): Promise<Buffer> => {
  const plain = Buffer.concat(b.records.map(encodeRecord))
  const codec = b.attributes & 7
  const records =
    codec === 0
      ? plain
      : codec === 1
        ? gzipSync(plain)
        : codec === 2
          ? await snappy.compress({ buffer: plain })
          : codec === 3
            ? lz4Frame(plain)
            : zstdFrame(plain)
  const afterCrc = Buffer.alloc(40)
  afterCrc.writeInt16BE(b.attributes, 0)
  afterCrc.writeInt32BE(Math.max(0, b.records.length - 1), 2)
  afterCrc.writeBigInt64BE(b.firstTimestamp, 6)
  afterCrc.writeBigInt64BE(b.maxTimestamp, 14)
  afterCrc.writeBigInt64BE(b.producerId, 22)
  afterCrc.writeInt16BE(0, 30)
  afterCrc.writeInt32BE(0, 32)
  afterCrc.writeInt32BE(b.count ?? b.records.length, 36)
  const checked = Buffer.concat([afterCrc, records])
  const head = Buffer.alloc(21)
  head.writeBigInt64BE(b.baseOffset, 0)
  head.writeInt32BE(9 + checked.length, 8)
  head.writeInt32BE(0, 12) // leader epoch
  head[16] = 2
  head.writeUInt32BE(crc32c(checked), 17)
  return Buffer.concat([head, checked])
}

// A partition's record set as it sits in a Fetch response: its size, then the batches.
const framed = (set: Buffer): Buffer => {
  const size = Buffer.alloc(4)
  size.writeInt32BE(set.length)
  return Buffer.concat([size, set])
}

// ---- comparison ----------------------------------------------------------------------------

const plain = (m: DecodedMessage) => ({
  offset: m.offset,
  timestamp: m.timestamp,
  key: m.key?.toString('hex') ?? null,
  value: m.value?.toString('hex') ?? null,
  headers: Object.fromEntries(
    Object.entries(m.headers).map(([k, v]) => [
      k,
      Array.isArray(v) ? v.map((x) => (Buffer.isBuffer(x) ? x.toString('hex') : String(x))) : (v?.toString('hex') ?? null),
    ]),
  ),
  isControlRecord: m.isControlRecord,
  producerId: m.batchContext.producerId,
  inTransaction: m.batchContext.inTransaction,
})

const decodeBoth = async (set: Buffer) => {
  const theirs = await kafkajsDecodeMessages(new Decoder(framed(set)))
  const d = new Decoder(framed(set))
  const ours = await patchedDecodeMessages(d)
  return { theirs, ours, consumed: d.offset }
}

const sameAsKafkajs = async (t: Test, set: Buffer, what: string): Promise<RecordSet> => {
  const { theirs, ours, consumed } = await decodeBoth(set)
  if (!(ours instanceof RecordSet)) throw new Error(`${what}: our decoder gave up`)
  t.equal(consumed, 4 + set.length, `${what}: the decoder moved past the record set`)
  t.same(
    Array.from({ length: ours.length }, (_, i) => plain(ours.message(i))),
    theirs.map(plain),
    `${what}: the same records as kafkajs`,
  )
  return ours
}

// ---- random records ------------------------------------------------------------------------

const randomRecord = (rng: Rng, i: number): TestRecord => ({
  offsetDelta: i,
  timestampDelta: BigInt(rng.pick([0, rng.int(0, 5000), -rng.int(0, 5000), rng.int(0, 2 ** 31)])),
  key: rng.pick([null, Buffer.alloc(0), rng.bytes(rng.int(1, 20)), Buffer.from(`src-${rng.int(0, 9)}`)]),
  value: rng.pick([
    null,
    Buffer.alloc(0),
    rng.bytes(rng.int(1, 300)),
    Buffer.from(JSON.stringify({ body: rng.nastyString(rng.int(0, 40)), ts: rng.int(0, 2 ** 40), src: 'a', seq: i })),
    rng.bool(0.05) ? rng.bytes(rng.int(70_000, 200_000)) : Buffer.from('GET / HTTP/1.1'),
  ]),
  headers: rng.pick([
    [],
    [['file', Buffer.from('/var/log/x')]],
    [
      ['dup', Buffer.from('1')],
      ['dup', null],
      ['dup', Buffer.from('3')],
    ],
    [
      [null, Buffer.from('v')],
      ['', Buffer.alloc(0)],
      ['ключ', rng.bytes(rng.int(0, 30))],
    ],
  ] as [string | null, Buffer | null][][]),
})

const randomBatch = (rng: Rng, baseOffset: number, n: number): TestBatch => ({
  baseOffset: BigInt(baseOffset),
  attributes: rng.pick([0, 0, 1, 2, 3, 4]) | (rng.bool(0.2) ? 0x08 : 0),
  firstTimestamp: BigInt(rng.pick([1_796_000_000_000, -1, 0, 2 ** 45])),
  maxTimestamp: BigInt(rng.pick([1_796_000_000_999, 0, 2 ** 45])),
  producerId: BigInt(rng.pick([-1, 4242, 2 ** 40])),
  records: Array.from({ length: n }, (_, i) => randomRecord(rng, i)),
})

t.test('random record batches decode as kafkajs decodes them, every codec', async (t) => {
  const rng = new Rng(15_2026)
  for (let round = 0; round < 40; round++) {
    const batches: Buffer[] = []
    let offset = rng.int(0, 2 ** 40)
    for (let b = rng.int(1, 5); b > 0; b--) {
      const n = rng.int(0, 60)
      batches.push(await encodeBatch(randomBatch(rng, offset, n)))
      offset += n
    }
    await sameAsKafkajs(t, Buffer.concat(batches), `round ${round}`)
  }
})

t.test('a batch cut off at the end of a fetch ends the records there, as in kafkajs', async (t) => {
  const rng = new Rng(7)
  const whole = Buffer.concat([await encodeBatch(randomBatch(rng, 100, 10)), await encodeBatch(randomBatch(rng, 110, 10))])
  for (const cut of [whole.length - 1, whole.length - 30, whole.length - (whole.length >> 2)]) {
    const set = await sameAsKafkajs(t, whole.subarray(0, cut), `cut at ${cut}`)
    t.ok(set.length <= 10, 'the cut batch is not read')
  }
})

t.test('hostile records: timestamps and offsets at the edges, an empty batch, a count of -1', async (t) => {
  const rec = (over: Partial<TestRecord>): TestRecord => ({
    offsetDelta: 0,
    timestampDelta: 0n,
    key: null,
    value: null,
    headers: [],
    ...over,
  })
  const cases: [string, TestBatch][] = [
    ['no records', { baseOffset: 5n, attributes: 0, firstTimestamp: 1n, maxTimestamp: 1n, producerId: -1n, records: [] }],
    [
      'a count of -1 (no records, as kafkajs reads it)',
      { baseOffset: 5n, attributes: 0, firstTimestamp: 1n, maxTimestamp: 1n, producerId: -1n, records: [], count: -1 },
    ],
    [
      'a compressed batch with a count of 0',
      { baseOffset: 5n, attributes: 1, firstTimestamp: 1n, maxTimestamp: 1n, producerId: -1n, records: [rec({})], count: 0 },
    ],
    [
      'offsets near 2^53, timestamps before 1970',
      {
        baseOffset: 2n ** 53n - 100n,
        attributes: 0,
        firstTimestamp: -1n,
        maxTimestamp: -1n,
        producerId: 2n ** 62n,
        records: [rec({ offsetDelta: 99, timestampDelta: -5000n })],
      },
    ],
    [
      'a 1 MiB value, empty key and value',
      {
        baseOffset: 0n,
        attributes: 1,
        firstTimestamp: 9n,
        maxTimestamp: 9n,
        producerId: -1n,
        records: [rec({ value: Buffer.alloc(1 << 20, 0x61) }), rec({ offsetDelta: 1, key: Buffer.alloc(0), value: Buffer.alloc(0) })],
      },
    ],
  ]
  for (const [what, batch] of cases) await sameAsKafkajs(t, await encodeBatch(batch), what)
})

t.test('bytes this decoder does not read exactly are left to kafkajs, with kafkajs results', async (t) => {
  const rec = { offsetDelta: 0, timestampDelta: 0n, key: null, value: Buffer.from('v'), headers: [] }
  const base = { attributes: 0, firstTimestamp: 1n, maxTimestamp: 1n, producerId: -1n, records: [rec] }
  const cases: [string, Buffer][] = [
    ['an offset past 2^53', await encodeBatch({ ...base, baseOffset: 2n ** 60n })],
    ['a timestamp delta past 2^48', await encodeBatch({ ...base, baseOffset: 0n, records: [{ ...rec, timestampDelta: 2n ** 50n }] })],
  ]
  // a record whose length says more than its batch holds
  const bad = await encodeBatch({ ...base, baseOffset: 0n })
  bad[61] = 0x7e
  cases.push(['a record longer than its batch', bad])
  for (const [what, set] of cases) {
    const refused = await decodeRecordSet(set, 0, set.length).catch((error: unknown) => error)
    t.ok(refused instanceof NotDecodable, `${what}: ours gives up`)
    const { theirs, ours } = await decodeBoth(set).catch((error: Error) => ({ theirs: error, ours: error }))
    if (theirs instanceof Error) t.equal((ours as Error).message, theirs.message, `${what}: the same error as kafkajs`)
    else t.same((ours as DecodedMessage[]).map(plain), theirs.map(plain), `${what}: kafkajs' messages`)
  }
  // a message set of the older formats (magic 1) is kafkajs' to read
  const v1 = Buffer.alloc(40)
  v1[16] = 1
  const { ours } = await decodeBoth(v1).catch(() => ({ ours: 'threw' }))
  t.notOk(ours instanceof RecordSet, 'magic 1 goes to kafkajs')
})

// ---- the Batch: offsets before the fetched one, aborted transactions, control records --------

const control = (offset: bigint, producerId: bigint, type: 0 | 1): TestBatch => ({
  baseOffset: offset,
  attributes: 0x30,
  firstTimestamp: 1n,
  maxTimestamp: 1n,
  producerId,
  records: [{ offsetDelta: 0, timestampDelta: 0n, key: Buffer.from([0, 0, 0, type]), value: Buffer.from([0, 0, 0, 0, 0, 0]), headers: [] }],
})
const data = (offset: bigint, producerId: bigint, n: number, transactional: boolean, codec = 0): TestBatch => ({
  baseOffset: offset,
  attributes: codec | (transactional ? 0x10 : 0),
  firstTimestamp: 1000n,
  maxTimestamp: 1000n,
  producerId,
  records: Array.from({ length: n }, (_, i) => ({
    offsetDelta: i,
    timestampDelta: BigInt(i),
    key: null,
    value: Buffer.from(`p${producerId} ${i}`),
    headers: [],
  })),
})

const batchView = (b: object) => {
  const x = b as {
    messages: DecodedMessage[]
    isEmpty(): boolean
    isEmptyIncludingFiltered(): boolean
    isEmptyDueToFiltering(): boolean
    isEmptyControlRecord(): boolean
    isEmptyDueToLogCompactedMessages(): boolean
    firstOffset(): string | null
    lastOffset(): string
    offsetLag(): string
    offsetLagLow(): string
  }
  return {
    messages: x.messages.map((m) => m.offset),
    isEmpty: x.isEmpty(),
    isEmptyIncludingFiltered: x.isEmptyIncludingFiltered(),
    isEmptyDueToFiltering: x.isEmptyDueToFiltering(),
    isEmptyControlRecord: x.isEmptyControlRecord(),
    isEmptyDueToLogCompactedMessages: x.isEmptyDueToLogCompactedMessages(),
    firstOffset: x.firstOffset(),
    lastOffset: x.lastOffset(),
    offsetLag: x.offsetLag(),
    offsetLagLow: x.offsetLagLow(),
  }
}

t.test('the Batch filters and answers as kafkajs Batch does: fetched offset, aborts, control records', async (t) => {
  // producer 7 aborts offsets 10–12 (marker 13); producer 8 commits 14–15 (marker 16); plain 17–19
  const set = Buffer.concat(
    await Promise.all([
      encodeBatch(data(5n, -1n, 5, false)),
      encodeBatch(data(10n, 7n, 3, true)),
      encodeBatch(control(13n, 7n, 0)),
      encodeBatch(data(14n, 8n, 2, true, 1)),
      encodeBatch(control(16n, 8n, 1)),
      encodeBatch(data(17n, -1n, 3, false, 2)),
    ]),
  )
  const { theirs, ours } = await decodeBoth(set)
  if (!(ours instanceof RecordSet)) throw new Error('our decoder gave up')
  const aborted = [{ producerId: '7', firstOffset: '10' }]
  for (const fetchedOffset of ['0', '7', '12', '14', '17', '19', '20']) {
    for (const abortedTransactions of [[], aborted]) {
      const partition = { partition: 2, highWatermark: '20', abortedTransactions }
      const kafkajs = new KafkajsBatch('T', fetchedOffset, { ...partition, messages: theirs })
      const mine = new FetchBatch('T', fetchedOffset, { ...partition, messages: ours }, ours)
      t.same(batchView(mine), batchView(kafkajs), `fetched from ${fetchedOffset}, ${abortedTransactions.length} aborted`)
    }
  }
  // only control records: empty due to filtering, and the runner moves past them
  const onlyMarker = await encodeBatch(control(30n, 7n, 1))
  const both = await decodeBoth(onlyMarker)
  const partition = { partition: 0, highWatermark: '31', abortedTransactions: [] }
  t.same(
    batchView(new FetchBatch('T', '30', { ...partition, messages: both.ours as RecordSet }, both.ours as RecordSet)),
    batchView(new KafkajsBatch('T', '30', { ...partition, messages: both.theirs })),
    'a fetch of only a commit marker',
  )
})
