import t from 'tap'
import { createSocket } from 'node:dgram'
import { connect } from 'node:net'
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs'
import { sh, tsf, until } from '../fixtures/procs.js'
import { freePort, rolledLines } from '../fixtures/pipelines.js'
import { encodeHeader, FrameType } from '../../src/core/wire/frames.js'

// "A single long line must never stop a pipeline": long and hostile input through the sources and
// stages that take it. Each keeps running, loses nothing valid, and says one line naming what and
// where (never a stack trace).

const summary = (lines: string[]): string[] => lines.map((l) => (l.length > 40 ? `${l[0]} x ${l.length}` : l))
const events = (ndjson: string): { body: string; truncated?: boolean }[] =>
  ndjson
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l))
const send = (port: number, data: Buffer): Promise<void> =>
  new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => s.end(data))
    s.on('error', () => resolve()) // reset by a collector that refused it
    s.on('close', () => resolve())
    s.resume()
  })

t.test('collect --syslog tcp://: a 10 MiB message and lying octet counts keep the listener up, nothing valid lost, one line', async (t) => {
  const port = await freePort()
  const c = sh(t, `exec ${tsf} collect --syslog tcp://127.0.0.1:${port}`)
  await until(() => /syslog listening/.test(c.stderr()), 30_000, 'listening', c.stderr)
  await send(port, Buffer.concat([Buffer.from('<14>before\n<14>'), Buffer.alloc(10 * 1024 * 1024, 97), Buffer.from('\n<14>after long\n')]))
  // a count shorter than its message: the rest is a message of its own (invalid), nothing lost
  await send(port, Buffer.from('5 <14>hello world\n<14>after short count\n'))
  await until(() => /after short count/.test(c.stdout()), 30_000, 'every message', c.stdout)
  process.kill(-c.child.pid!, 'SIGTERM')
  const r = await c.done
  t.equal(r.code, 0, r.stderr)
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace')
  t.match(
    r.stderr,
    new RegExp(`--syslog tcp://127.0.0.1:${port}: a message from \\S+ longer than 65536 bytes was truncated`),
    'said what and where',
  )
  const got = events(r.stdout)
  t.same(
    got.map((e) => `${e.body.length > 40 ? `${e.body[0]} x ${e.body.length}` : e.body}${e.truncated ? ' (truncated)' : ''}`),
    ['before', 'a x 65532 (truncated)', 'after long', 'h', 'ello world', 'after short count'],
  )
})

t.test('collect --syslog udp://: a 65000-byte datagram whole; SIGTERM exits 0', async (t) => {
  const port = await freePort()
  const c = sh(t, `exec ${tsf} collect --syslog udp://127.0.0.1:${port}`)
  await until(() => /syslog listening/.test(c.stderr()), 30_000, 'listening', c.stderr)
  const udp = createSocket('udp4')
  const big = Buffer.concat([Buffer.from('<14>'), Buffer.alloc(65000, 98)])
  // datagrams may be lost on a loaded machine: send until both arrived
  await until(
    () => {
      if (!/after/.test(c.stdout())) {
        udp.send(big, port, '127.0.0.1')
        udp.send(Buffer.from('<14>after'), port, '127.0.0.1')
      }
      return /after/.test(c.stdout()) && /bbbb/.test(c.stdout())
    },
    30_000,
    'the datagrams',
  )
  udp.close()
  process.kill(-c.child.pid!, 'SIGTERM')
  const r = await c.done
  t.equal(r.code, 0, `a clean stop: ${r.stderr}`)
  t.notMatch(r.stderr, /error/i, r.stderr)
  t.ok(
    events(r.stdout).some((e) => e.body.length === 65000 && !e.truncated),
    'the long datagram whole',
  )
})

t.test('collect --listen: garbage and a frame length that lies close that connection in one line; a real ship gets through', async (t) => {
  const dir = t.testdir({})
  const port = await freePort()
  const c = sh(t, `exec ${tsf} collect --listen 127.0.0.1:${port} > ${dir}/out.ndjson`)
  await until(() => /listening/.test(c.stderr()), 30_000, 'listening', c.stderr)
  await send(port, Buffer.alloc(100_000, 0xff))
  // a whole handshake, then a batch header saying 4 GiB
  const liar = connect(port, '127.0.0.1')
  liar.on('error', () => undefined)
  let answer = ''
  liar.on('data', (d) => (answer += d))
  liar.write('TSF/1 HELLO nonce=abcdefghijklmnop0123 compress= mac=\n')
  await until(() => /CHALLENGE/.test(answer), 30_000, 'the challenge')
  liar.write('TSF/1 AUTH proof=-\n')
  await until(() => /OK/.test(answer), 30_000, 'ok')
  liar.write(encodeHeader(FrameType.batch, 0, 1, 1, 0xffffffff))
  await until(() => liar.destroyed || liar.readableEnded, 30_000, 'the liar closed')
  writeFileSync(`${dir}/app.log`, 'one\ntwo\n')
  const ship = await sh(t, `${tsf} tail ${dir}/app.log --state ${dir}/st | ${tsf} ship 127.0.0.1:${port}`).done
  t.equal(ship.code, 0, ship.stderr)
  process.kill(-c.child.pid!, 'SIGTERM')
  const r = await c.done
  t.equal(r.code, 0, r.stderr)
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace')
  t.match(r.stderr, /127\.0\.0\.1:\d+: did not open with the tsf hello/, 'the garbage sender named')
  t.match(r.stderr, /127\.0\.0\.1:\d+: [^\n]*4294967295/, 'the lying sender named, with the length it said')
})

t.test('exec: a 50 MiB line without a newline becomes pieces that roll joins again; one line said', async (t) => {
  const dir = t.testdir({})
  const r = await sh(t, `${tsf} exec -- sh -c "head -c 50M /dev/zero | tr '\\\\0' x" | ${tsf} roll ${dir}/out`).done
  t.equal(r.code, 0, r.stderr)
  t.match(r.stderr, /tsf exec: sh: a line longer than 1048576 bytes was cut into pieces marked "cont"/)
  t.same(summary(rolledLines(`${dir}/out`)), [`x x ${50 * 1024 * 1024}`])
})

t.test('spool: a 20 MiB line whole through roll; a file of NULs quarantined in one line; the spool goes on', async (t) => {
  const dir = t.testdir({})
  mkdirSync(`${dir}/in`)
  writeFileSync(`${dir}/in/big.log`, `before\n${'y'.repeat(20 * 1024 * 1024)}\nafter\n`)
  writeFileSync(`${dir}/in/nul.log`, Buffer.alloc(10 * 1024 * 1024))
  // settled files (the spool takes a file once it has not changed for --settle)
  const past = new Date(Date.now() - 60_000)
  for (const f of ['big.log', 'nul.log']) utimesSync(`${dir}/in/${f}`, past, past)
  const r = await sh(t, `${tsf} spool ${dir}/in --once --state ${dir}/st | ${tsf} roll ${dir}/out`).done
  t.equal(r.code, 0, r.stderr)
  t.match(r.stderr, /nul\.log: looks binary \(a NUL byte at offset 0\): moved to /)
  t.notMatch(r.stderr, /\n\s+at /, 'no stack trace')
  t.same(summary(rolledLines(`${dir}/out`)), ['before', `y x ${20 * 1024 * 1024}`, 'after'])
})

t.test('filter: long lines (5 and 12 MiB, cut into pieces) kept or dropped whole by --drop and --keep-if', async (t) => {
  const dir = t.testdir({})
  writeFileSync(
    `${dir}/app.log`,
    `before\n${'z'.repeat(5 * 1024 * 1024)}\nafter\n${'w'.repeat(12 * 1024 * 1024)}\n${'q'.repeat(3 * 1024 * 1024)}\nend\n`,
  )
  const r = await sh(
    t,
    `${tsf} tail ${dir}/app.log --state ${dir}/st | ${tsf} filter --drop '^after$' --keep-if 'body~^[bzwe]' | ${tsf} roll ${dir}/out`,
  ).done
  t.equal(r.code, 0, r.stderr)
  t.same(summary(rolledLines(`${dir}/out`)), ['before', `z x ${5 * 1024 * 1024}`, `w x ${12 * 1024 * 1024}`, 'end'])
})

t.test('channel: a 50 MiB event of tail --max-line 64M is stored and delivered whole', async (t) => {
  const dir = t.testdir({})
  writeFileSync(`${dir}/app.log`, `before\n${'c'.repeat(50 * 1024 * 1024)}\nafter\n`)
  const r = await sh(
    t,
    `${tsf} tail ${dir}/app.log --state ${dir}/st --max-line 64M | ${tsf} channel --dir ${dir}/q | ${tsf} roll ${dir}/out`,
  ).done
  t.equal(r.code, 0, r.stderr)
  t.notMatch(r.stderr, /cut into pieces/, 'nothing cut')
  t.same(summary(rolledLines(`${dir}/out`)), ['before', `c x ${50 * 1024 * 1024}`, 'after'])
})
