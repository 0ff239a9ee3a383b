import t from 'tap'
import { formatBytes, parseCount, parseDuration, parseHostPort, parseSize } from '../../src/core/units.js'

t.test('durations take units and a bare number means seconds', async (t) => {
  t.equal(parseDuration('250ms'), 250)
  t.equal(parseDuration('30s'), 30_000)
  t.equal(parseDuration('10m'), 600_000)
  t.equal(parseDuration('1h'), 3_600_000)
  t.equal(parseDuration('7d'), 7 * 86_400_000)
  t.equal(parseDuration('5'), 5000)
  t.equal(parseDuration('1.5s'), 1500)
  t.throws(() => parseDuration('5 minutes', '--linger'), { message: /--linger: expected a duration.*got '5 minutes'/ })
  t.throws(() => parseDuration('-1s'), { exitCode: 2 })
})

t.test('sizes take K/M/G in powers of 1024', async (t) => {
  t.equal(parseSize('512'), 512)
  t.equal(parseSize('64K'), 65536)
  t.equal(parseSize('128M'), 128 * 1024 ** 2)
  t.equal(parseSize('1G'), 1024 ** 3)
  t.equal(parseSize('2MiB'), 2 * 1024 ** 2)
  t.equal(parseSize('1gb'), 1024 ** 3)
  t.throws(() => parseSize('lots', '--max-size'), { message: /--max-size: expected a size/ })
})

t.test('counts and host:port are validated with the option named', async (t) => {
  t.equal(parseCount('42'), 42)
  t.throws(() => parseCount('4x', '--batch'), { message: /--batch: expected a whole number/ })
  t.same(parseHostPort('example.org:52020'), { host: 'example.org', port: 52020 })
  t.same(parseHostPort(':9000'), { host: '127.0.0.1', port: 9000 })
  t.same(parseHostPort('[::1]:80'), { host: '::1', port: 80 })
  t.throws(() => parseHostPort('nohost', '--listen'), { message: /--listen: expected HOST:PORT/ })
  t.throws(() => parseHostPort('h:70000'), { exitCode: 2 })
})

t.test('bytes are formatted for humans', async (t) => {
  t.equal(formatBytes(10), '10 B')
  t.equal(formatBytes(1536), '1.5 KiB')
  t.equal(formatBytes(3 * 1024 ** 3), '3.0 GiB')
})
