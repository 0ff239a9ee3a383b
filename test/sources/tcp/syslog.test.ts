// tsf collect --syslog with real senders: util-linux logger (TCP newline and octet-counted, UDP,
// RFC 3164 and 5424) and an rsyslogd relaying with omfwd.
import t from 'tap'
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, writeFileSync } from 'node:fs'
import { connect, createServer } from 'node:net'
import { lines, run, tsf, until, type Proc } from '../../fixtures/tcp-helpers.js'

type Ev = { body: string; ts: number; host: string; headers: Record<string, string> }
const events = (file: string): Ev[] => lines(file).map((l) => JSON.parse(l) as Ev)
const kill = (t: { teardown: (f: () => void) => void }, ...ps: Proc[]): void => t.teardown(() => ps.forEach((p) => p.kill()))

const startSyslog = async (dir: string, out: string): Promise<Proc & { tcp: number; udp: number }> => {
  const p = run(`exec ${tsf} collect --syslog tcp://127.0.0.1:0 --syslog udp://127.0.0.1:0 > ${out}`, dir)
  const tcp = Number((await p.waitFor(/syslog listening on tcp:\/\/127\.0\.0\.1:(\d+)/))[1])
  const udp = Number((await p.waitFor(/syslog listening on udp:\/\/127\.0\.0\.1:(\d+)/))[1])
  return Object.assign(p, { tcp, udp })
}

const logger = (...args: string[]): void => void execFileSync('logger', args, { stdio: 'ignore' })

t.test('logger over TCP (newline and octet-counted) and UDP, RFC 3164 and 5424, and garbage', async (t) => {
  const dir = t.testdir()
  const col = await startSyslog(dir, 'out.ndjson')
  kill(t, col)
  const tcp = ['-n', '127.0.0.1', '-P', String(col.tcp), '--tcp']
  logger(...tcp, '--rfc5424', '-t', 'app5424', '--msgid', 'M1', 'five four two four')
  logger(...tcp, '--rfc3164', '-t', 'app3164', 'three one six four')
  logger(...tcp, '--octet-count', '--rfc5424', '-t', 'appoctet', 'counted\nover two lines')
  logger('-n', '127.0.0.1', '-P', String(col.udp), '--udp', '-t', 'appudp', '-p', 'local0.err', 'by datagram')
  await new Promise<void>((resolve) => {
    const c = connect(col.tcp, '127.0.0.1', () => c.end('not syslog at all\n'))
    c.on('close', () => resolve())
  })
  await until(() => lines(`${dir}/out.ndjson`).length >= 5, 10_000, 'five events')
  const byBody = new Map(events(`${dir}/out.ndjson`).map((e) => [e.body, e]))
  t.match(byBody.get('five four two four')?.headers, {
    'syslog.format': 'rfc5424',
    appname: 'app5424',
    msgid: 'M1',
    Facility: '1',
    Severity: '5',
  })
  t.match(byBody.get('three one six four')?.headers, { 'syslog.format': 'rfc3164', appname: 'app3164' })
  t.ok(byBody.has('counted\nover two lines'), 'octet counting keeps a multi-line message whole')
  t.match(byBody.get('by datagram')?.headers, { Facility: '16', Severity: '3' })
  t.same(byBody.get('not syslog at all')?.headers, { 'flume.syslog.status': 'Invalid' }, 'kept whole with a status header, never dropped')
  for (const e of byBody.values()) t.type(e.ts, 'number')
})

const rsyslogd = ['/usr/sbin/rsyslogd', '/sbin/rsyslogd'].find((p) => existsSync(p))
const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })

t.test(
  'rsyslogd relays to collect with omfwd (octet-counted RFC 5424 and traditional RFC 3164)',
  { skip: rsyslogd ? false : 'rsyslogd is not installed' },
  async (t) => {
    const dir = t.testdir()
    const col = await startSyslog(dir, 'out.ndjson')
    kill(t, col)
    const inPort = await freePort()
    const action = 'queue.type="LinkedList" action.resumeRetryCount="-1"'
    writeFileSync(
      `${dir}/rs.conf`,
      [
        `global(workDirectory="${dir}")`,
        'module(load="imtcp")',
        `input(type="imtcp" address="127.0.0.1" port="${inPort}" ruleset="fwd")`,
        'ruleset(name="fwd") {',
        `  action(type="omfwd" target="127.0.0.1" port="${col.tcp}" protocol="tcp" TCP_Framing="octet-counted" template="RSYSLOG_SyslogProtocol23Format" ${action})`,
        `  action(type="omfwd" target="127.0.0.1" port="${col.tcp}" protocol="tcp" template="RSYSLOG_TraditionalForwardFormat" ${action})`,
        '}',
        '',
      ].join('\n'),
    )
    const rs = spawn(rsyslogd!, ['-n', '-f', `${dir}/rs.conf`, '-i', `${dir}/pid`], { stdio: 'ignore' })
    t.teardown(() => void rs.kill('SIGKILL'))
    // wait for rsyslog's input port
    const listening = (): Promise<boolean> =>
      new Promise((resolve) => {
        const c = connect(inPort, '127.0.0.1', () => {
          c.end()
          resolve(true)
        })
        c.on('error', () => resolve(false))
      })
    const deadline = Date.now() + 10_000
    while (!(await listening())) {
      if (Date.now() > deadline) throw new Error('rsyslogd did not listen')
      await new Promise((r) => setTimeout(r, 100))
    }
    for (let i = 1; i <= 20; i++) logger('-n', '127.0.0.1', '-P', String(inPort), '--tcp', '-t', 'relayed', `relayed message ${i}`)
    const isRelayed = (e: Ev): boolean => /relayed message \d+$/.test(e.body)
    await until(() => events(`${dir}/out.ndjson`).filter(isRelayed).length >= 40, 15_000, 'both relayed copies')
    const relayed = events(`${dir}/out.ndjson`).filter(isRelayed)
    const formats = new Map<string, number>()
    for (const e of relayed) formats.set(e.headers['syslog.format'] ?? '?', (formats.get(e.headers['syslog.format'] ?? '?') ?? 0) + 1)
    t.same(Object.fromEntries(formats), { rfc5424: 20, rfc3164: 20 })
    t.ok(
      relayed.every((e) => !e.headers['flume.syslog.status'] && e.headers.host),
      'all parsed cleanly, with their hostname',
    )
    t.ok(
      relayed.filter((e) => e.headers['syslog.format'] === 'rfc5424').every((e) => e.headers.appname === 'relayed'),
      'RFC 5424 copies keep their app-name',
    )
  },
)

// The listener hands a read's messages on as one block rendered into the sink: -H (which rewrites
// heads) and --print (which formats them) take it too.
t.test('--syslog with -H and with --print', async (t) => {
  const dir = t.testdir()
  const send = (port: number, text: string): Promise<void> =>
    new Promise((resolve) => {
      const c = connect(port, '127.0.0.1', () => c.end(text))
      c.on('close', () => resolve())
    })
  const msgs = '<134>1 2026-01-01T00:00:00.000Z h1 app - - - first\n<13>Feb  5 17:32:18 h2 tag[7]: second\n'
  const tagged = run(`exec ${tsf} collect --syslog tcp://127.0.0.1:0 -H dc=eu > tagged.ndjson`, dir)
  kill(t, tagged)
  await send(Number((await tagged.waitFor(/syslog listening on tcp:\/\/127\.0\.0\.1:(\d+)/))[1]), msgs)
  await until(() => lines(`${dir}/tagged.ndjson`).length >= 2, 10_000, 'two events')
  const got = events(`${dir}/tagged.ndjson`)
  t.same(
    got.map((e) => [e.body, e.host, e.headers.dc, e.headers.appname, e.headers['syslog.format']]),
    [
      ['first', 'h1', 'eu', 'app', 'rfc5424'],
      ['second', 'h2', 'eu', 'tag', 'rfc3164'],
    ],
  )
  const printed = run(`exec ${tsf} collect --syslog tcp://127.0.0.1:0 --print > printed.txt`, dir)
  kill(t, printed)
  await send(Number((await printed.waitFor(/syslog listening on tcp:\/\/127\.0\.0\.1:(\d+)/))[1]), msgs)
  await until(() => lines(`${dir}/printed.txt`).length >= 2, 10_000, 'two printed lines')
  const text = lines(`${dir}/printed.txt`).join('\n')
  t.match(text, /first/)
  t.match(text, /second/)
})

// A sender whose octet count is absurd would swallow the rest of its connection: the count is
// capped by the longest message kept, the message read to its newline, the following ones
// delivered, and collect says so once for that connection, naming the sender.
t.test('a lying octet count does not swallow the messages after it; one line names the sender', async (t) => {
  const dir = t.testdir()
  const col = await startSyslog(dir, 'out.ndjson')
  kill(t, col)
  const octet = (m: string): string => `${Buffer.byteLength(m)} ${m}`
  const text = '999999999 <13>first\n<13>second\n' + octet('<13>third') + '888888888 <13>fourth\n<13>fifth\n'
  let localPort = 0
  await new Promise<void>((resolve) => {
    const c = connect(col.tcp, '127.0.0.1', () => {
      localPort = c.localPort!
      c.end(text)
    })
    c.on('close', () => resolve())
  })
  await until(
    () => lines(`${dir}/out.ndjson`).length >= 5,
    10_000,
    () => `five events, got ${lines(`${dir}/out.ndjson`).length}: ${col.stderr()}`,
  )
  t.same(
    events(`${dir}/out.ndjson`).map((e) => e.body),
    ['first', 'second', 'third', 'fourth', 'fifth'],
  )
  const said = col
    .stderr()
    .split('\n')
    .filter((l) => /octet count/.test(l))
  t.equal(said.length, 1, 'said once for the connection')
  t.match(
    said[0],
    `--syslog tcp://127.0.0.1:0: 127.0.0.1:${localPort} sent an octet count of 999999999, more than the longest message kept (65536 bytes)`,
  )
})
