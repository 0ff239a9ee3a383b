// Talking to the real test broker from tests: create topics, produce odd records, read a topic
// back whole. kafkajs directly (tsf's own client sits behind src/kafka/).
import { spawnSync } from 'node:child_process'
import kafkajs from 'kafkajs'
import type { Test } from 'tap'

const { Kafka, logLevel, Partitioners } = kafkajs

export interface ReadRecord {
  partition: number
  offset: string
  key: string | null
  value: Buffer
  headers: Record<string, string>
}

const client = (brokers: string) =>
  new Kafka({ clientId: 'tsf-test', brokers: brokers.split(','), logLevel: logLevel.NOTHING, retry: { retries: 5 } })

export const createTopic = async (brokers: string, topic: string, partitions = 1): Promise<void> => {
  const admin = client(brokers).admin()
  await admin.connect()
  try {
    await admin.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true })
  } finally {
    await admin.disconnect()
  }
}

export const produce = async (
  brokers: string,
  topic: string,
  messages: { key?: string | null; value: Buffer | string | null; partition?: number }[],
): Promise<void> => {
  const producer = client(brokers).producer({ createPartitioner: Partitioners.DefaultPartitioner })
  await producer.connect()
  try {
    await producer.send({ topic, messages })
  } finally {
    await producer.disconnect()
  }
}

// Every record of a topic, read until `count` arrived or `ms` passed (bounded).
export const readTopic = async (brokers: string, topic: string, count: number, ms = 30_000): Promise<ReadRecord[]> => {
  const consumer = client(brokers).consumer({ groupId: `tsf-test-reader-${topic}-${Math.random().toString(36).slice(2)}` })
  const out: ReadRecord[] = []
  await consumer.connect()
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true })
    let done!: () => void
    const all = new Promise<void>((resolve) => (done = resolve))
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const headers: Record<string, string> = {}
        for (const [k, v] of Object.entries(message.headers ?? {})) headers[k] = String(v)
        out.push({
          partition,
          offset: message.offset,
          key: message.key ? message.key.toString() : null,
          value: message.value ?? Buffer.alloc(0),
          headers,
        })
        if (out.length >= count) done()
      },
    })
    let timer: NodeJS.Timeout | undefined
    await Promise.race([all, new Promise((resolve) => (timer = setTimeout(resolve, ms)))])
    clearTimeout(timer)
  } finally {
    await consumer.disconnect()
  }
  return out
}

// The partitions of a topic and their high watermarks summed: how many records it holds.
export const topicSize = async (brokers: string, topic: string): Promise<number> => {
  const admin = client(brokers).admin()
  await admin.connect()
  try {
    const offsets = await admin.fetchTopicOffsets(topic)
    return offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0)
  } finally {
    await admin.disconnect()
  }
}

// kcat (librdkafka): the other client. Missing, it fails the test under CI=true, else skips it.
const kcatMissing = spawnSync('kcat', ['-V']).status !== 0
export const haveKcat = (t: Test): boolean => {
  if (!kcatMissing) return true
  if (process.env.CI === 'true') t.fail('kcat is not installed (apt-get install kcat)')
  else t.skip('kcat is not installed')
  return false
}
