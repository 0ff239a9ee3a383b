// A real rsyslog omfwd relay into our framer + parser: logger -> rsyslogd (imtcp) -> two omfwd actions,
// RSYSLOG_SyslogProtocol23Format octet-counted, and RSYSLOG_TraditionalForwardFormat newline-framed.
// rsyslogd runs unprivileged in the foreground with a temp config and work dir.
import t from 'tap'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { spawn, execFileSync } from 'node:child_process'
import { parseSyslog, type SyslogRecord } from '../../../src/sources/syslog/parse.js'
import { tcpCapture, run, freePort, waitListening } from './fixtures/capture.js'

const rsyslogd = ['/usr/sbin/rsyslogd', '/sbin/rsyslogd', '/usr/local/sbin/rsyslogd'].find((p) => fs.existsSync(p))
const hasLogger = (() => {
  try {
    return /util-linux/.test(execFileSync('logger', ['--version'], { encoding: 'utf8' }))
  } catch {
    return false
  }
})()

if (!rsyslogd || !hasLogger) {
  const why = !rsyslogd ? 'rsyslogd is not installed (apt-get install -y rsyslog)' : 'util-linux logger(1) is not installed'
  console.error(`# SKIPPING the rsyslog relay test: ${why}`)
  t.skip(`rsyslog relay: ${why}`, () => {})
} else {
  t.test('rsyslog omfwd relay: SyslogProtocol23 octet-counted and TraditionalForward', async (t) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsf-rsyslog-'))
    const proto23 = await tcpCapture()
    const traditional = await tcpCapture()
    const inPort = await freePort()
    const conf = path.join(dir, 'rs.conf')
    const action = `queue.type="LinkedList" action.resumeRetryCount="-1"`
    fs.writeFileSync(
      conf,
      [
        // keep newlines in messages so the multi-line case shows what each framing does with them
        `global(workDirectory="${dir}" parser.escapeControlCharactersOnReceive="off")`,
        'module(load="imtcp")',
        `input(type="imtcp" address="127.0.0.1" port="${inPort}" ruleset="fwd")`,
        'ruleset(name="fwd") {',
        `  action(type="omfwd" target="127.0.0.1" port="${proto23.port}" protocol="tcp" TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format" ${action})`,
        `  action(type="omfwd" target="127.0.0.1" port="${traditional.port}" protocol="tcp" template="RSYSLOG_TraditionalForwardFormat" ${action})`,
        '}',
        '',
      ].join('\n'),
    )
    await run(rsyslogd, ['-N1', '-f', conf])
    const child = spawn(rsyslogd, ['-n', '-f', conf, '-i', path.join(dir, 'pid')], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString()
    })
    t.teardown(async () => {
      if (child.exitCode === null) {
        child.kill('SIGTERM')
        await new Promise((resolve) => child.once('exit', resolve))
      }
      await proto23.close()
      await traditional.close()
      fs.rmSync(dir, { recursive: true, force: true })
    })

    try {
      await waitListening(inPort)
    } catch (error) {
      throw new Error(`rsyslogd did not start: ${(error as Error).message}\n${stderr}`)
    }
    const logger = (...args: string[]) => run('logger', ['-n', '127.0.0.1', '-P', String(inPort), '-T', ...args])
    const before = Date.now()
    await logger('-i', '--msgid', 'M1', '--sd-id', 'ex@32473', '--sd-param', 'k="v\\"q"', '-t', 'tsftest', 'hello relay')
    await logger('--rfc3164', '-p', 'local0.warn', '-t', 'tsftest', 'hello 3164')
    await logger('--octet-count', '-t', 'tsftest', 'multi\nline')

    // rsyslog may interleave the three connections: pick the records by content, not order
    const pick = (records: SyslogRecord[], test: (r: SyslogRecord) => boolean, what: string): SyslogRecord => {
      const found = records.find(test)
      if (!found) throw new Error(`no ${what} among ${JSON.stringify(records.map((r) => r.body.toString()))}`)
      return found
    }
    const relayed = (await proto23.waitFor(3)).map((f) => {
      t.notOk(f.truncated)
      return parseSyslog(f.msg, { receivedAt: Date.now() })
    })
    const a = pick(relayed, (r) => r.body.includes('hello relay'), 'hello relay')
    const b = pick(relayed, (r) => r.body.includes('hello 3164'), 'hello 3164')
    const c = pick(relayed, (r) => r.body.includes('multi'), 'multi-line')
    t.match(Buffer.concat(proto23.raw).toString('latin1'), /^\d+ <13>1 /, 'octet-counted RFC 5424 on the wire')

    t.test('SyslogProtocol23Format (RFC 5424, octet-counted, LF inside the count)', async (t) => {
      t.equal(a.headers['syslog.format'], 'rfc5424')
      t.equal(a.headers.appname, 'tsftest')
      t.equal(a.headers.msgid, 'M1')
      t.match(a.headers.procid, /^\d+$/)
      t.equal(a.headers['sd.ex@32473.k'], 'v"q')
      t.equal(a.headers['sd.timeQuality.tzKnown'], '1')
      t.notOk('flume.syslog.status' in a.headers)
      t.ok(a.ts >= before - 1000 && a.ts <= Date.now(), 'ts is the original, to the ms')
      t.equal(a.body.toString(), 'hello relay', 'the trailing LF rsyslog puts inside the frame is dropped')

      t.equal(b.headers['syslog.format'], 'rfc5424')
      t.equal(b.headers.Facility, '16')
      t.equal(b.headers.Severity, '4')
      t.equal(b.headers.appname, 'tsftest')
      t.notOk('sd' in b.headers)
      t.equal(b.ts % 1000, 0, 'an RFC 3164 original has whole seconds')
      t.equal(b.body.toString().trim(), 'hello 3164')
      t.equal(b.body.toString(), ' hello 3164', "rsyslog's MSG of a 3164 original starts with the space after the tag")

      t.equal(c.body.toString(), 'multi\nline', 'multi-line survives octet counting')
    })

    const frames = await traditional.waitFor(4)
    t.test('TraditionalForwardFormat (RFC 3164, newline-framed)', async (t) => {
      const records = frames.map((f) => parseSyslog(f.msg, { receivedAt: Date.now() }))
      const x = pick(records, (r) => r.body.includes('hello relay'), 'hello relay')
      const y = pick(records, (r) => r.body.includes('hello 3164'), 'hello 3164')
      const zi = records.findIndex((r) => r.body.includes('multi'))
      const z = records[zi]!
      const w = records[zi + 1]!
      t.ok(w, 'the line after the multi-line start')
      for (const r of [x, y, z]) {
        t.equal(r.headers['syslog.format'], 'rfc3164')
        t.ok(r.headers.host, 'hostname')
        t.notOk('flume.syslog.status' in r.headers)
        t.ok(Math.abs(r.ts - before) < 5000, 'local time, this year, whole seconds')
      }
      t.equal(x.headers.appname, 'tsftest', 'tag[pid] without a colon')
      t.match(x.headers.procid, /^\d+$/)
      t.equal(x.body.toString(), 'hello relay')
      t.equal(y.headers.Facility, '16')
      t.equal(y.headers.appname, 'tsftest')
      t.equal(y.body.toString(), 'hello 3164')
      t.notOk('appname' in z.headers, 'a bare tag without pid or colon is not told apart from text')
      t.equal(z.body.toString(), 'tsftest multi')
      t.equal(w.headers['flume.syslog.status'], 'Invalid', 'the second line of a newline-framed multi-line message is a frame of its own')
      t.equal(w.body.toString(), 'line', 'and is kept, not dropped')
    })
  })
}
