import t from 'tap'
import { isKafkaUrl, parseKafkaUrl, validTopic } from '../../src/kafka/url.js'

t.test('brokers and topic, with 9092 for a broker without a port', async (t) => {
  t.same(parseKafkaUrl('kafka://b1,b2:19092/logs'), { brokers: ['b1:9092', 'b2:19092'], topic: 'logs', name: 'kafka://b1,b2:19092/logs' })
  t.same(parseKafkaUrl('KAFKA://[::1]:9093/a.b_c-d/').brokers, ['[::1]:9093'])
  t.equal(parseKafkaUrl('kafka://b/a.b_c-d/').topic, 'a.b_c-d', 'a trailing slash is allowed')
  t.ok(isKafkaUrl(' kafka://b/t'))
  t.notOk(isKafkaUrl('b:9092'))
})

t.test('malformed URLs are usage errors that say what is expected', async (t) => {
  const cases: [string, RegExp][] = [
    ['kafka://b', /expected kafka:\/\/BROKER/],
    ['kafka:///t', /no broker/],
    ['kafka://b/', /no topic/],
    ['kafka://b:0/t', /'b:0' is not a broker/],
    ['kafka://b:70000/t', /not a broker/],
    ['kafka://b c/t', /not a broker/],
    ['kafka://b/a topic', /not a Kafka topic name/],
    ['kafka://b/' + 'x'.repeat(250), /not a Kafka topic name/],
  ]
  for (const [url, message] of cases) t.throws(() => parseKafkaUrl(url), { exitCode: 2, message }, url)
})

t.test("Kafka's topic name rule", async (t) => {
  for (const ok of ['a', 'A.b_c-1', 'x'.repeat(249)]) t.ok(validTopic(ok), ok)
  for (const bad of ['', '.', '..', 'a/b', 'a b', 'é', 'x'.repeat(250)]) t.notOk(validTopic(bad), bad)
})
