import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import t from 'tap'
import { crc32c } from '../../src/kafka/kafkajs-patches.js'

const require = createRequire(import.meta.url)

t.test('CRC-32C sliced by 8 equals kafkajs own byte-at-a-time CRC-32C, every length and alignment', async (t) => {
  // the implementation file itself is not replaced, only the index that kafkajs requires
  const original = require('kafkajs/src/protocol/recordBatch/crc32C/crc32C.js') as (b: Buffer) => number
  const unsigned = (n: number) => n >>> 0
  for (let n = 0; n < 600; n++) {
    const buf = randomBytes((n * 13) % 4099).subarray(n % 7)
    if (crc32c(buf) !== unsigned(original(buf))) t.fail(`length ${buf.length}: ${crc32c(buf)} vs ${unsigned(original(buf))}`)
  }
  t.equal(crc32c(Buffer.from('123456789')), 0xe3069283, 'the CRC-32C check value')
})

// kafkajs' record encoder, run in a process where tsf did not replace it
const originalRecords = (cases: unknown[]): string[] =>
  JSON.parse(
    execFileSync(
      process.execPath,
      [
        '-e',
        `
      const record = require(${JSON.stringify(require.resolve('kafkajs/src/protocol/recordBatch/record/v0/index.js'))})
      const revive = (v) => v && v.type === 'Buffer' ? Buffer.from(v.data) : Array.isArray(v) ? v.map(revive) : v
      const cases = JSON.parse(require('fs').readFileSync(0, 'utf8')).map((c) => ({ ...c, key: revive(c.key), value: revive(c.value), headers: c.headers && Object.fromEntries(Object.entries(c.headers).map(([k, v]) => [k, revive(v)])) }))
      process.stdout.write(JSON.stringify(cases.map((c) => record(c).buffer.toString('hex'))))
    `,
      ],
      { input: JSON.stringify(cases), encoding: 'utf8' },
    ),
  ) as string[]

t.test('records are encoded byte for byte as kafkajs encodes them', async (t) => {
  const record = require('kafkajs/src/protocol/recordBatch/record/v0/index.js') as (c: unknown) => { buffer: Buffer }
  const cases: Record<string, unknown>[] = [
    { offsetDelta: 0, timestampDelta: 0, key: 'web-1.a1b2', value: '{"body":"x"}', headers: { file: '/var/log/a.log' } },
    { offsetDelta: 300, timestampDelta: 123456789, key: null, value: Buffer.from('hello'), headers: {} },
    { offsetDelta: 70000, key: Buffer.from('k'), value: null, headers: { many: ['a', 'b'], bytes: Buffer.from('zz') } },
    { offsetDelta: 5, value: 'ü'.repeat(300) },
    { value: 'x'.repeat(70_000), key: 'é', headers: { ключ: 'значение' } },
  ]
  for (let i = 0; i < 50; i++)
    cases.push({
      offsetDelta: i * 997,
      timestampDelta: i * 31,
      key: `src-${i}`,
      value: randomBytes(i * 41),
      headers: i % 3 ? { h: 'v'.repeat(i) } : undefined,
    })
  const expected = originalRecords(cases)
  cases.forEach((c, i) => t.equal(record(c).buffer.toString('hex'), expected[i], `case ${i}`))
})
