import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import t from 'tap'
import '../../src/kafka/client.js'
import { encodeProduce, type ProduceArgs } from '../../src/kafka/produce-request.js'
import { encodeRecordHeaders, recordTail } from '../../src/kafka/record-tail.js'

const require = createRequire(import.meta.url)
const NOW = 1_796_000_000_123

// kafkajs' own Produce request (v3 request + framing), in a process where tsf replaced nothing
const kafkajsBytes = (version: number, args: unknown, correlationId: number, clientId: string): string =>
  execFileSync(
    process.execPath,
    [
      '-e',
      `
      Date.now = () => ${NOW}
      const Long = require(${JSON.stringify(require.resolve('kafkajs/src/utils/long'))})
      const request = require(${JSON.stringify(require.resolve('kafkajs/src/protocol/requests/produce/index.js'))}).protocol({ version: ${version} })
      const createRequest = require(${JSON.stringify(require.resolve('kafkajs/src/protocol/request.js'))})
      const revive = (v) => v && v.type === 'Buffer' ? Buffer.from(v.data) : Array.isArray(v) ? v.map(revive) : v
      const args = JSON.parse(require('fs').readFileSync(0, 'utf8'))
      for (const t of args.topicData) for (const p of t.partitions) p.messages = p.messages.map((m) => ({ key: revive(m.key), value: revive(m.value), headers: m.headers && Object.fromEntries(Object.entries(m.headers).map(([k, v]) => [k, revive(v)])) }))
      args.producerId = Long.fromValue(args.producerId)
      createRequest({ correlationId: ${correlationId}, clientId: ${JSON.stringify(clientId)}, request: request(args).request }).then((e) => process.stdout.write(e.buffer.toString('hex')))
    `,
    ],
    { input: JSON.stringify(args), encoding: 'utf8' },
  )

const messages = (n: number, seed: number) =>
  Array.from({ length: n }, (_, i) => ({
    key: i % 5 ? `src-${seed}` : null,
    value: i % 3 ? `{"body":"line ${i} ${'ü'.repeat(i % 7)}","src":"src-${seed}","seq":${i}}` : randomBytes((i * 37) % 300),
    headers: i % 2 ? { file: `/var/log/${seed}.log`, ключ: 'значение' } : i % 4 ? undefined : { many: ['a', 'b'] },
  }))

t.test('a Produce request is encoded byte for byte as kafkajs encodes it, framing included', async (t) => {
  const realNow = Date.now
  Date.now = () => NOW
  t.teardown(() => {
    Date.now = realNow
  })
  for (const [version, compression, transactionalId] of [
    [3, 0, null],
    [5, 0, null],
    [7, 0, 'tx-1'],
    [7, 1, null],
  ] as const) {
    const args = {
      acks: -1,
      timeout: 30000,
      transactionalId,
      producerId: 4242,
      producerEpoch: 3,
      compression,
      topicData: [
        {
          topic: 'logs',
          partitions: [
            { partition: 0, firstSequence: 17, messages: messages(300, 1) },
            { partition: 2, firstSequence: 0, messages: messages(1, 2) },
          ],
        },
        { topic: 'другой', partitions: [{ partition: 1, firstSequence: 99, messages: messages(2000, 3) }] },
      ],
    }
    const expected = kafkajsBytes(version, args, 77, 'tsf-ship@host')
    const Long = require('kafkajs/src/utils/long') as { fromValue(v: unknown): unknown }
    // our request's bytes, as kafkajs's were made: producer id 4242, correlation id 77
    const encoded = async (request: object): Promise<string> =>
      (
        await encodeProduce({ ...request, producerId: Long.fromValue(4242) } as ProduceArgs, {
          apiKey: 0,
          apiVersion: version,
          correlationId: 77,
          clientId: 'tsf-ship@host',
        })
      ).buffer.toString('hex')
    const ours = await encoded(args)
    if (compression) {
      // gzip output may differ between processes only if zlib did: compare the framing sizes at least
      t.equal(ours.length, expected.length, `v${version} gzip: same size`)
    } else t.equal(ours, expected, `v${version}${transactionalId ? ' transactional' : ''}`)

    // the same with tails encoded up front, as ship does
    const pre = {
      ...args,
      topicData: args.topicData.map((topic) => ({
        ...topic,
        partitions: topic.partitions.map((p) => ({
          ...p,
          messages: p.messages.map((m) => ({
            key: m.key,
            tsfTail: recordTail(m.key, m.value, m.headers ? encodeRecordHeaders(m.headers) : undefined),
          })),
        })),
      })),
    }
    const fromTails = await encoded(pre)
    if (!compression) t.equal(fromTails, expected, `v${version} from tails`)
  }
})
