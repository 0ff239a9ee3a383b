import { UsageError } from '../core/errors.js'

// kafka://broker[:port][,broker[:port]...]/topic — the bootstrap brokers and the topic, as ship's
// destination and collect's --from take them. A broker without a port means Kafka's 9092.

export interface KafkaUrl {
  brokers: string[]
  topic: string
  // as the user wrote it, for messages
  name: string
}

const DEFAULT_PORT = 9092

// Kafka's own rule (kafka.common.Topic): 1..249 of [a-zA-Z0-9._-], not "." or "..".
export const validTopic = (topic: string): boolean =>
  topic.length > 0 && topic.length <= 249 && /^[A-Za-z0-9._-]+$/.test(topic) && topic !== '.' && topic !== '..'

const broker = (text: string, url: string): string => {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+))(?::(\d{1,5}))?$/.exec(text)
  const port = m?.[3] === undefined ? DEFAULT_PORT : Number(m[3])
  if (!m || port < 1 || port > 65535) throw new UsageError(`${url}: '${text}' is not a broker (expected HOST or HOST:PORT)`)
  const host = m[1] ?? m[2]!
  return m[1] ? `[${host}]:${port}` : `${host}:${port}`
}

export const isKafkaUrl = (text: string): boolean => /^kafka:\/\//i.test(text.trim())

export const parseKafkaUrl = (text: string, what = 'kafka URL'): KafkaUrl => {
  const name = text.trim()
  const m = /^kafka:\/\/([^/]*)\/(.*)$/i.exec(name)
  if (!m) throw new UsageError(`${what} '${name}': expected kafka://BROKER[:PORT][,BROKER...]/TOPIC`)
  const brokers = m[1]!
    .split(',')
    .filter((b) => b !== '')
    .map((b) => broker(b, name))
  if (brokers.length === 0) throw new UsageError(`${what} '${name}': no broker before the topic`)
  const topic = m[2]!.replace(/\/$/, '')
  if (!topic) throw new UsageError(`${what} '${name}': no topic after the brokers`)
  if (!validTopic(topic)) throw new UsageError(`${what} '${name}': '${topic}' is not a Kafka topic name (1-249 of a-z A-Z 0-9 . _ -)`)
  return { brokers, topic, name }
}
