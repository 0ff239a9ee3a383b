import t from 'tap'
import { makeTimestampParser } from '../../../src/sources/tail/timestamp.js'

t.test('clf, iso8601, epoch and strftime formats', async (t) => {
  const clf = makeTimestampParser(undefined, 'clf')!
  t.equal(clf('1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET /"'), Date.UTC(2000, 9, 10, 20, 55, 36))
  const iso = makeTimestampParser(undefined, 'iso8601')!
  t.equal(iso('x 2026-11-21T10:00:00.250Z y'), Date.UTC(2026, 10, 21, 10, 0, 0, 250))
  t.equal(iso('2026-11-21 10:00:00+01:00 y'), Date.UTC(2026, 10, 21, 9, 0, 0))
  const epoch = makeTimestampParser('^(\\d+)', undefined)!
  t.equal(epoch('1700000000 msg'), 1700000000000)
  t.equal(epoch('1700000000123 msg'), 1700000000123)
  const fmt = makeTimestampParser('ts=(\\S+ \\S+)', '%Y/%m/%d %H:%M:%S')!
  t.equal(fmt('a ts=2026/01/02 03:04:05 b'), new Date(2026, 0, 2, 3, 4, 5).getTime(), 'no zone: local time')
  const named = makeTimestampParser('at (?<ts>\\d+)', 'epoch')!
  t.equal(named('at 1700000000'), 1700000000000)
})

t.test('a line without a readable time gives undefined (the caller keeps the read time)', async (t) => {
  t.equal(makeTimestampParser(undefined, 'clf')!('no time here'), undefined)
  t.equal(makeTimestampParser('^(\\S+)', undefined)!('garbage rest'), undefined)
  t.equal(makeTimestampParser(undefined, '%d/%b/%Y')!('01/Foo/2020'), undefined)
})

t.test('bad formats and regexes are usage errors', async (t) => {
  t.throws(() => makeTimestampParser(undefined, '%Q'), { exitCode: 2 })
  t.throws(() => makeTimestampParser(undefined, 'plain'), { exitCode: 2 })
  t.throws(() => makeTimestampParser('(', undefined), { exitCode: 2 })
})
