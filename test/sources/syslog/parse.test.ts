import t from 'tap'
import { parseSyslog, parseRfc3339, type SyslogRecord } from '../../../src/sources/syslog/parse.js'

const receivedAt = new Date(2024, 10, 1, 12, 0, 0).getTime() // 2024-11-01 12:00 local
const parse = (msg: string | Buffer, opts: { receivedAt?: number; defaultYear?: number } = {}): SyslogRecord =>
  parseSyslog(typeof msg === 'string' ? Buffer.from(msg, 'utf8') : msg, { receivedAt, ...opts })
const stripEol = (m: Buffer): Buffer => {
  let end = m.length
  if (end > 0 && m[end - 1] === 0x0a) {
    end--
    if (end > 0 && m[end - 1] === 0x0d) end--
  }
  return m.subarray(0, end)
}
const body = (r: SyslogRecord): string => r.body.toString('utf8')

t.test('RFC 5424', async (t) => {
  t.test('the RFC example with structured data and a BOM', async (t) => {
    const r = parse(
      '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] \u{feff}An application event log entry...',
    )
    t.equal(r.ts, Date.UTC(2003, 9, 11, 22, 14, 15, 3))
    t.same(r.headers, {
      Facility: '20',
      Severity: '5',
      'syslog.format': 'rfc5424',
      host: 'mymachine.example.com',
      appname: 'evntslog',
      msgid: 'ID47',
      sd: '[exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"]',
      'sd.exampleSDID@32473.iut': '3',
      'sd.exampleSDID@32473.eventSource': 'Application',
      'sd.exampleSDID@32473.eventID': '1011',
    })
    t.strictSame(Object.keys(r.headers).includes('procid'), false, 'NILVALUE procid is left out')
    t.equal(body(r), 'An application event log entry...', 'BOM stripped')
  })

  t.test('the RFC examples without SD, with a negative offset and microseconds', async (t) => {
    const a = parse("<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \u{feff}'su root' failed for lonvick on /dev/pts/8")
    t.equal(a.headers.Facility, '4')
    t.equal(a.headers.Severity, '2')
    t.equal(a.headers.appname, 'su')
    t.notOk('sd' in a.headers)
    t.equal(body(a), "'su root' failed for lonvick on /dev/pts/8")

    const b = parse("<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.")
    t.equal(b.ts, Date.UTC(2003, 7, 24, 12, 14, 15, 0))
    t.equal(b.headers.host, '192.0.2.1')
    t.equal(b.headers.procid, '8710')
    t.notOk('msgid' in b.headers)
    t.notOk('flume.syslog.status' in b.headers)
    t.equal(body(b), "%% It's time to make the do-nuts.")
  })

  t.test('several SD elements and no MSG', async (t) => {
    const r = parse(
      '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3"][examplePriority@32473 class="high"]',
    )
    t.equal(r.headers.sd, '[exampleSDID@32473 iut="3"][examplePriority@32473 class="high"]')
    t.equal(r.headers['sd.exampleSDID@32473.iut'], '3')
    t.equal(r.headers['sd.examplePriority@32473.class'], 'high')
    t.equal(r.body.length, 0)
    t.notOk('flume.syslog.status' in r.headers)
  })

  t.test('SD escapes: \\" \\\\ \\] are escapes, any other backslash is literal', async (t) => {
    const r = parse(
      String.raw`<13>1 2024-01-01T00:00:00Z h a p m [x@1 q="say \"hi\"" b="C:\\dir" r="a\]b" o="keep\n\x" e="" u="ünï ✓"] msg`,
    )
    t.equal(r.headers['sd.x@1.q'], 'say "hi"')
    t.equal(r.headers['sd.x@1.b'], 'C:\\dir')
    t.equal(r.headers['sd.x@1.r'], 'a]b')
    t.equal(r.headers['sd.x@1.o'], 'keep\\n\\x')
    t.equal(r.headers['sd.x@1.e'], '')
    t.equal(r.headers['sd.x@1.u'], 'ünï ✓')
    t.equal(r.headers.sd, String.raw`[x@1 q="say \"hi\"" b="C:\\dir" r="a\]b" o="keep\n\x" e="" u="ünï ✓"]`)
    t.equal(body(r), 'msg')
    const s = parse('<13>1 2024-01-01T00:00:00Z h a p m [x@1 v="a ] b" w="[x"] m')
    t.equal(s.headers['sd.x@1.v'], 'a ] b', "an unescaped ']' inside quotes is just a character")
    t.equal(s.headers['sd.x@1.w'], '[x')
    t.equal(body(s), 'm')
    const e = parse('<13>1 2024-01-01T00:00:00Z h a p m [x@1 v="ends in backslash\\\\"] m')
    t.equal(e.headers['sd.x@1.v'], 'ends in backslash\\')
    t.equal(body(e), 'm')
  })

  t.test('NILVALUEs everywhere', async (t) => {
    const r = parse('<13>1 - - - - - -')
    t.equal(r.ts, receivedAt)
    t.same(r.headers, { Facility: '1', Severity: '5', 'syslog.format': 'rfc5424', 'flume.syslog.status': 'Incomplete' })
    t.equal(r.body.length, 0)
    const s = parse('<13>1 - - tsftest - - - bare')
    t.equal(s.headers.appname, 'tsftest')
    t.equal(s.headers['flume.syslog.status'], 'Incomplete')
    t.equal(body(s), 'bare')
    const u = parse('<13>1 2024-01-01T00:00:00Z - - - -')
    t.equal(u.ts, Date.UTC(2024, 0, 1))
    t.notOk('flume.syslog.status' in u.headers, 'a message ending after MSGID is fine')
  })

  t.test('timestamps: zones, fractions, exact to the ms', async (t) => {
    const ts = (s: string): number => parse(`<13>1 ${s} h a - - - m`).ts
    t.equal(ts('2024-02-29T23:59:59Z'), Date.UTC(2024, 1, 29, 23, 59, 59))
    t.equal(ts('2024-02-29T23:59:59.5Z'), Date.UTC(2024, 1, 29, 23, 59, 59, 500))
    t.equal(ts('2024-02-29T23:59:59.12Z'), Date.UTC(2024, 1, 29, 23, 59, 59, 120))
    t.equal(ts('2024-02-29T23:59:59.999999999Z'), Date.UTC(2024, 1, 29, 23, 59, 59, 999), 'truncated, not rounded')
    t.equal(ts('2024-06-01T05:30:00.250+05:30'), Date.UTC(2024, 5, 1, 0, 0, 0, 250))
    t.equal(ts('2024-06-01T00:00:00-0800'), Date.UTC(2024, 5, 1, 8))
    t.equal(ts('2024-06-01t00:00:00z'), Date.UTC(2024, 5, 1), 'lower-case t and z (RFC 3339 allows them)')
    t.equal(ts('2024-06-01T00:00:00'), new Date(2024, 5, 1).getTime(), 'no zone: local time')
    for (const bad of [
      '2024-13-01T00:00:00Z',
      '2023-02-29T00:00:00Z',
      '2024-04-31T00:00:00Z',
      '2024-01-01T24:00:00Z',
      '2024-01-01T00:00:00.Z',
      '2024-01-01T00:00:00+5:00',
      '2024-01-01T00:00:00Zjunk',
      'yesterday',
      '2024',
    ]) {
      const r = parse(`<13>1 ${bad} h a - - - m`)
      t.equal(r.ts, receivedAt, bad)
      t.equal(r.headers['flume.syslog.status'], 'Incomplete', bad)
      t.equal(r.headers.host, 'h', `${bad}: the other fields still parse`)
      t.equal(body(r), 'm')
    }
    t.equal(parseRfc3339(Buffer.from('x1999-12-31T23:59:59Zx'), 1, 21), Date.UTC(1999, 11, 31, 23, 59, 59))
  })

  t.test('invalid UTF-8 and binary bodies survive byte for byte', async (t) => {
    const tail = Buffer.from([0xff, 0xfe, 0x00, 0xc3, 0x28, 0x80, 0x20, 0x0a, 0x41])
    const r = parse(Buffer.concat([Buffer.from('<13>1 2024-01-01T00:00:00Z h a - - - '), tail]))
    t.ok(r.body.equals(tail))
    t.notOk('flume.syslog.status' in r.headers)
  })

  t.test('one trailing LF or CRLF is transport and goes', async (t) => {
    t.equal(body(parse('<13>1 - h a - - - m\n')), 'm')
    t.equal(body(parse('<13>1 - h a - - - m\r\n')), 'm')
    t.equal(body(parse('<13>1 - h a - - - m\n\n')), 'm\n')
    t.equal(body(parse('<13>1 - h a - - - a\nb')), 'a\nb')
  })

  t.test('structurally broken messages are invalid and kept whole', async (t) => {
    for (const m of [
      '<13>1 2024-01-01T00:00:00Z host',
      '<13>1 2024-01-01T00:00:00Z h a p',
      '<13>1 2024-01-01T00:00:00Z  h a p m - x',
      '<13>1 2024-01-01T00:00:00Z h a p m [x a="b" msg',
      '<13>1 2024-01-01T00:00:00Z h a p m [x a=b] msg',
      '<13>1 2024-01-01T00:00:00Z h a p m [] msg',
      '<13>1 2024-01-01T00:00:00Z h a p m [x a="b"]msg',
      '<13>1 2024-01-01T00:00:00Z h a p m [x a="b" ] msg',
      '<13>1 2024-01-01T00:00:00Z h a p m [x =""] msg',
      '<13>1 2024-01-01T00:00:00Z h a p m [x="y"] msg',
      '<13>1 2024-01-01T00:00:00Z h a p m x msg',
      '<13>1 2024-01-01T00:00:00Z h a p m -x',
    ]) {
      const r = parse(m)
      t.same(r.headers, { 'flume.syslog.status': 'Invalid' }, m)
      t.equal(body(r), m)
      t.equal(r.ts, receivedAt)
    }
  })
})

t.test('RFC 3164', async (t) => {
  const local = (...a: [number, number, number, number, number, number, number?]): number => new Date(...a).getTime()

  t.test('the RFC example', async (t) => {
    const r = parse("<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8")
    t.equal(r.ts, local(2024, 9, 11, 22, 14, 15))
    t.same(r.headers, { Facility: '4', Severity: '2', 'syslog.format': 'rfc3164', host: 'mymachine', appname: 'su' })
    t.equal(body(r), "'su root' failed for lonvick on /dev/pts/8")
  })

  t.test('tag[pid], space-padded and single-digit days', async (t) => {
    for (const m of [
      '<13>Nov  5 03:04:05 host app[123]: msg',
      '<13>Nov 05 03:04:05 host app[123]: msg',
      '<13>Nov 5 03:04:05 host app[123]: msg',
    ]) {
      const r = parse(m)
      t.equal(r.ts, local(2023, 10, 5, 3, 4, 5), `${m}: more than a day after receivedAt, so last year`)
      t.equal(r.headers.host, 'host')
      t.equal(r.headers.appname, 'app')
      t.equal(r.headers.procid, '123')
      t.equal(body(r), 'msg')
      t.notOk('flume.syslog.status' in r.headers)
    }
  })

  t.test('without a hostname (local /dev/log style)', async (t) => {
    const a = parse('<13>Oct 22 00:16:03 tsftest[42]: hi there')
    t.notOk('host' in a.headers)
    t.equal(a.headers.appname, 'tsftest')
    t.equal(a.headers.procid, '42')
    t.equal(body(a), 'hi there')
    const b = parse('<13>Oct 22 00:16:03 postfix/smtpd: x')
    t.notOk('host' in b.headers)
    t.equal(b.headers.appname, 'postfix/smtpd')
  })

  t.test('tag[pid] without a colon (rsyslog traditional forward of an RFC 5424 message)', async (t) => {
    const r = parse('<13>Nov 22 00:20:42 vm tsftest[12488] hello relay')
    t.equal(r.headers.host, 'vm')
    t.equal(r.headers.appname, 'tsftest')
    t.equal(r.headers.procid, '12488')
    t.equal(body(r), 'hello relay')
    const s = parse('<13>Nov 22 00:20:42 vm [12488] x')
    t.notOk('appname' in s.headers)
    t.equal(body(s), '[12488] x')
    const u = parse('<13>Nov 22 00:20:42 vm a[]: x')
    t.equal(u.headers.appname, 'a')
    t.notOk('procid' in u.headers)
  })

  t.test('no tag: the rest is the body', async (t) => {
    const r = parse('<13>Oct 22 00:16:03 host message text: here')
    t.equal(r.headers.host, 'host')
    t.notOk('appname' in r.headers)
    t.equal(body(r), 'message text: here')
    const e = parse('<13>Oct 22 00:16:03 host app:')
    t.equal(e.headers.appname, 'app')
    t.equal(e.body.length, 0)
    const h = parse('<13>Oct 22 00:16:03 host')
    t.equal(h.headers.host, 'host')
    t.equal(h.body.length, 0)
  })

  t.test('ISO timestamps (rsyslog forward formats) and fractions', async (t) => {
    const r = parse('<13>2026-11-22T00:16:03.530607+01:00 vm tsftest: hi')
    t.equal(r.ts, Date.UTC(2026, 10, 21, 23, 16, 3, 530))
    t.equal(r.headers.host, 'vm')
    t.equal(r.headers.appname, 'tsftest')
    t.equal(r.headers['syslog.format'], 'rfc3164')
    t.equal(body(r), 'hi')
    t.equal(parse('<13>Oct 22 00:16:03.042 host app: m').ts, local(2024, 9, 22, 0, 16, 3, 42))
    t.equal(parse('<13>Oct 22 2019 00:16:03 host app: m').ts, local(2019, 9, 22, 0, 16, 3), 'Cisco-style year')
  })

  t.test('the year: current, rolled back when >1 day ahead, or defaultYear', async (t) => {
    const newYear = new Date(2025, 0, 1, 0, 0, 30).getTime()
    t.equal(parse('<13>Dec 31 23:59:50 h a: m', { receivedAt: newYear }).ts, local(2024, 11, 31, 23, 59, 50))
    t.equal(parse('<13>Jan  1 00:00:40 h a: m', { receivedAt: newYear }).ts, local(2025, 0, 1, 0, 0, 40), 'a clock slightly ahead')
    t.equal(parse('<13>Jan  1 23:00:00 h a: m', { receivedAt: newYear }).ts, local(2025, 0, 1, 23, 0, 0), 'less than a day ahead')
    t.equal(parse('<13>Jan  3 00:00:00 h a: m', { receivedAt: newYear }).ts, local(2024, 0, 3, 0, 0, 0), 'more than a day ahead')
    const march = new Date(2025, 2, 1, 10, 0, 0).getTime()
    t.equal(parse('<13>Feb 29 10:00:00 h a: m', { receivedAt: march }).ts, local(2024, 1, 29, 10, 0, 0), 'Feb 29 from a common year')
    t.equal(parse('<13>Dec 31 23:59:50 h a: m', { receivedAt: newYear, defaultYear: 2031 }).ts, local(2031, 11, 31, 23, 59, 50))
    const r = parse('<13>Feb 29 10:00:00 h a: m', { defaultYear: 2023 })
    t.equal(r.headers['flume.syslog.status'], 'Incomplete', 'a date that does not exist in defaultYear')
  })

  t.test('no or bad timestamp: incomplete, receivedAt, tag still parsed', async (t) => {
    const a = parse('<13>tsftest: hello')
    t.equal(a.ts, receivedAt)
    t.equal(a.headers['flume.syslog.status'], 'Incomplete')
    t.equal(a.headers.appname, 'tsftest')
    t.notOk('host' in a.headers)
    t.equal(body(a), 'hello')
    for (const m of [
      '<13>just some text',
      '<13>Foo 22 00:16:03 h a: m',
      '<13>Oct 32 00:16:03 h a: m',
      '<13>Oct 22 25:16:03 h a: m',
      '<13>Oct 22 00:16:03x h a: m',
      '<13>2024-01-01 h a: m',
      '<13>',
      '<13>Oct',
    ]) {
      const r = parse(m)
      t.equal(r.ts, receivedAt, m)
      t.equal(r.headers['flume.syslog.status'], 'Incomplete', m)
      t.equal(r.headers['syslog.format'], 'rfc3164', m)
      t.notOk('host' in r.headers, m)
      t.equal(body(r), m.slice(4), `${m}: the body is everything after PRI`)
    }
  })

  t.test('invalid UTF-8 body, binary host bytes', async (t) => {
    const tail = Buffer.from([0xc0, 0xaf, 0xff, 0x0d, 0x41])
    const r = parse(Buffer.concat([Buffer.from('<13>Oct 22 00:16:03 h\u00e9te app: '), tail]))
    t.equal(r.headers.host, 'h\u00e9te')
    t.ok(r.body.equals(tail))
  })
})

t.test('PRI', async (t) => {
  t.equal(parse('<0>1 - h a - - - m').headers.Facility, '0')
  t.equal(parse('<191>1 - h a - - - m').headers.Facility, '23')
  t.equal(parse('<191>1 - h a - - - m').headers.Severity, '7')
  t.equal(parse('<132>Oct 22 00:16:03 h a: m').headers.Facility, '16', 'local0')
  t.equal(parse('<132>Oct 22 00:16:03 h a: m').headers.Severity, '4', 'warning')
  t.equal(parse('<013>1 - h a - - - m').headers.Severity, '5', 'leading zeros tolerated')
})

t.test('garbage is invalid and kept whole', async (t) => {
  const cases: Buffer[] = [
    '',
    'hello world',
    '<',
    '<>',
    '<13',
    '<1234>1 - - - - - -',
    '<192>1 - - - - - -',
    '<abc>x',
    '13>x',
    ' <13>x',
  ].map((s) => Buffer.from(s))
  cases.push(Buffer.from([0x3c, 0xff, 0x3e, 0x00]))
  let seed = 7
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed
  }
  for (let n = 0; n < 2000; n++) {
    const b = Buffer.alloc(random() % 80)
    for (let i = 0; i < b.length; i++) b[i] = random() & 0xff
    if (n % 2) b[0] = 0x3c
    cases.push(b)
  }
  let invalid = 0
  for (const m of cases) {
    const r = parseSyslog(m, { receivedAt })
    if (r.headers['flume.syslog.status'] === 'Invalid') {
      invalid++
      if (!r.body.equals(stripEol(m))) t.fail(`invalid message not kept whole: ${m.toString('hex')}`)
    }
    if (!Buffer.isBuffer(r.body) || typeof r.ts !== 'number') t.fail(`bad record for ${m.toString('hex')}`)
  }
  t.ok(invalid >= 11, 'the hand-written cases are all invalid')
  for (const m of cases.slice(0, 11))
    t.equal(parseSyslog(m, { receivedAt }).headers['flume.syslog.status'], 'Invalid', JSON.stringify(m.toString('latin1')))
})

t.test('no super-linear blowup on hostile input', async (t) => {
  const big = [
    '<13>1 2024-01-01T00:00:00Z h a p m [x' + ' a="b"'.repeat(100_000) + ' ',
    '<13>1 2024-01-01T00:00:00Z h a p m [x a="' + '\\'.repeat(500_000),
    '<13>Oct 22 00:16:03 ' + 'a'.repeat(1_000_000),
    '<13>' + ' '.repeat(1_000_000),
    '<13>Oct 22 00:16:03' + ' '.repeat(1_000_000) + 'x',
    '<13>' + '['.repeat(1_000_000) + ':',
  ]
  const start = process.hrtime.bigint()
  for (const m of big) parse(m)
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  t.ok(ms < 2000, `6 hostile messages of up to 1 MB parsed in ${ms.toFixed(1)} ms`)
})
