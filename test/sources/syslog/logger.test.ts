// Real captures: util-linux logger(1) against throwaway TCP/UDP servers, through the framer and parser.
import t, { type Test } from 'tap'
import os from 'node:os'
import { execFileSync } from 'node:child_process'
import { parseSyslog, type SyslogRecord } from '../../../src/sources/syslog/parse.js'
import { tcpCapture, udpCapture, run } from './fixtures/capture.js'

const hasLogger = (() => {
  try {
    return /util-linux/.test(execFileSync('logger', ['--version'], { encoding: 'utf8' }))
  } catch {
    return false
  }
})()

if (!hasLogger) {
  console.error('# SKIPPING the logger(1) capture tests: util-linux logger is not installed (apt-get install bsdutils)')
  t.skip('util-linux logger(1) is not installed', () => {})
} else {
  const parse = (msg: Buffer): SyslogRecord => parseSyslog(msg, { receivedAt: Date.now() })

  // The timestamp text of an RFC 5424 frame, for an independent cross-check of the parsed ts.
  const rawTs = (msg: Buffer): number => {
    const text = msg.toString('latin1').split(' ')[1]!
    return new Date(text.replace(/(\.\d{3})\d*/, '$1')).getTime()
  }
  const near = (t: Test, ts: number, what: string): void => {
    t.ok(Math.abs(ts - Date.now()) < 60_000, `${what}: ts ${new Date(ts).toISOString()} is now`)
  }
  const host = os.hostname()

  const tcp = async (args: string[], count: number, input?: Buffer | string) => {
    const cap = await tcpCapture()
    try {
      await run('logger', ['-n', '127.0.0.1', '-P', String(cap.port), '-T', ...args], input)
      const frames = await cap.waitFor(count)
      await cap.idle()
      return { frames, raw: Buffer.concat(cap.raw), all: cap.frames }
    } finally {
      await cap.close()
    }
  }
  const udp = async (args: string[], count: number, input?: Buffer | string) => {
    const cap = await udpCapture()
    try {
      await run('logger', ['-n', '127.0.0.1', '-P', String(cap.port), '-d', ...args], input)
      return await cap.waitFor(count)
    } finally {
      await cap.close()
    }
  }

  t.test('-T: RFC 5424 by default, newline-framed', async (t) => {
    const { frames, raw, all } = await tcp(['-t', 'tsftest', 'hello tcp'], 1)
    t.equal(raw[raw.length - 1], 0x0a, 'logger ends the frame with LF')
    t.equal(all.length, 1)
    const r = parse(frames[0]!.msg)
    t.equal(r.headers['syslog.format'], 'rfc5424')
    t.equal(r.headers.Facility, '1', 'user')
    t.equal(r.headers.Severity, '5', 'notice')
    t.equal(r.headers.appname, 'tsftest')
    t.ok(r.headers.host && host.startsWith(r.headers.host), `hostname ${r.headers.host}`)
    t.equal(r.headers['sd.timeQuality.tzKnown'], '1')
    t.match(r.headers.sd, /^\[timeQuality tzKnown="1" isSynced="[01]"( syncAccuracy="\d+")?\]$/)
    t.notOk('flume.syslog.status' in r.headers)
    t.equal(r.ts, rawTs(frames[0]!.msg), 'ts exact to the ms (microseconds truncated)')
    near(t, r.ts, 'ts')
    t.equal(r.body.toString(), 'hello tcp')
  })

  t.test('-d: UDP datagrams, one message each', async (t) => {
    const [d] = await udp(['-t', 'tsftest', 'hello udp'], 1)
    const r = parse(d!)
    t.equal(r.headers['syslog.format'], 'rfc5424')
    t.equal(r.headers.appname, 'tsftest')
    t.equal(r.ts, rawTs(d!))
    t.equal(r.body.toString(), 'hello udp')

    const [b] = await udp(['--rfc5424=notq,notime,nohost', '-t', 'tsftest', 'bare'], 1)
    const s = parse(b!)
    t.equal(b!.toString(), '<13>1 - - tsftest - - - bare', 'what notq,notime,nohost sends')
    t.equal(s.headers['flume.syslog.status'], 'Incomplete', 'no timestamp')
    t.notOk('host' in s.headers)
    t.notOk('sd' in s.headers)
    t.equal(s.body.toString(), 'bare')

    const [c] = await udp(['--rfc3164', '-t', 'tsftest', 'udp3164'], 1)
    const u = parse(c!)
    t.equal(u.headers['syslog.format'], 'rfc3164')
    t.equal(u.headers.appname, 'tsftest')
    near(t, u.ts, 'rfc3164 over udp')
    t.equal(u.body.toString(), 'udp3164')
  })

  t.test('--octet-count with stdin: one frame per line', async (t) => {
    const { frames, raw } = await tcp(['--octet-count', '--rfc5424', '-t', 'tsftest'], 2, 'a\nb\n')
    t.match(raw.toString('latin1'), /^\d+ <13>1 /, 'octet-counted on the wire')
    t.notOk(raw.includes(0x0a), 'no newlines at all on the wire')
    t.same(
      frames.map((f) => parse(f.msg).body.toString()),
      ['a', 'b'],
    )
    t.same(
      frames.map((f) => parse(f.msg).headers.appname),
      ['tsftest', 'tsftest'],
    )
  })

  t.test('--octet-count keeps a multi-line message whole (RFC 5424 and RFC 3164)', async (t) => {
    const a = await tcp(['--octet-count', '-t', 'tsftest', 'line1\nline2'], 1)
    const r = parse(a.frames[0]!.msg)
    t.equal(r.headers['syslog.format'], 'rfc5424')
    t.equal(r.body.toString(), 'line1\nline2')
    const b = await tcp(['--octet-count', '--rfc3164', '-t', 'tsftest', 'line1\nline2'], 1)
    const s = parse(b.frames[0]!.msg)
    t.equal(s.headers['syslog.format'], 'rfc3164')
    t.equal(s.headers.appname, 'tsftest')
    t.equal(s.body.toString(), 'line1\nline2')
  })

  t.test('--rfc3164 with -i and -p local0.warn', async (t) => {
    const { frames } = await tcp(['--rfc3164', '-i', '-p', 'local0.warn', '-t', 'tsftest', 'hi 3164'], 1)
    t.match(frames[0]!.msg.toString(), /^<132>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ tsftest\[\d+\]: hi 3164$/)
    const r = parse(frames[0]!.msg)
    t.equal(r.headers.Facility, '16')
    t.equal(r.headers.Severity, '4')
    t.ok(r.headers.host && host.startsWith(r.headers.host), `hostname ${r.headers.host}`)
    t.equal(r.headers.appname, 'tsftest')
    t.match(r.headers.procid, /^\d+$/)
    t.notOk('flume.syslog.status' in r.headers)
    near(t, r.ts, 'local time, this year')
    t.equal(r.ts % 1000, 0, 'second resolution')
    t.equal(r.body.toString(), 'hi 3164')
  })

  t.test('--msgid, --sd-id/--sd-param with escapes, -i', async (t) => {
    const { frames } = await tcp(
      [
        '-i',
        '--msgid',
        'MID1',
        '--sd-id',
        'ex@32473',
        '--sd-param',
        'k="v\\"q"',
        '--sd-param',
        'z="a\\]b"',
        '--sd-param',
        'w="c:\\\\d"',
        '-t',
        'tsftest',
        'with sd',
      ],
      1,
    )
    const r = parse(frames[0]!.msg)
    t.equal(r.headers.msgid, 'MID1')
    t.match(r.headers.procid, /^\d+$/)
    t.equal(r.headers['sd.ex@32473.k'], 'v"q')
    t.equal(r.headers['sd.ex@32473.z'], 'a]b')
    t.equal(r.headers['sd.ex@32473.w'], 'c:\\d')
    t.equal(r.headers['sd.timeQuality.tzKnown'], '1')
    t.match(r.headers.sd, /^\[timeQuality [^\]]*\]\[ex@32473 k="v\\"q" z="a\\]b" w="c:\\\\d"\]$/)
    t.equal(r.body.toString(), 'with sd')
  })

  t.test('invalid UTF-8 goes through byte for byte', async (t) => {
    const bytes = Buffer.from([0x62, 0x61, 0x64, 0x20, 0xff, 0xfe, 0xc3, 0x28, 0x80])
    const { frames } = await tcp(['--octet-count', '-t', 'tsftest'], 1, Buffer.concat([bytes, Buffer.from('\n')]))
    const r = parse(frames[0]!.msg)
    t.ok(r.body.equals(bytes), r.body.toString('hex'))
    const [d] = await udp(['--rfc3164', '-t', 'tsftest'], 1, Buffer.concat([bytes, Buffer.from('\n')]))
    t.ok(parse(d!).body.equals(bytes))
  })
}
