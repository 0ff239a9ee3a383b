// Trust (issue #14): with a token and without TLS every frame carries a MAC, so a relay cannot
// rewrite batches; with --agent-tokens an event's src belongs to the agent that proved its secret.
import t from 'tap'
import { createServer, connect, type Socket } from 'node:net'
import { writeFileSync } from 'node:fs'
import { lines, run, startCollect, tsf, type Proc } from '../../fixtures/tcp-helpers.js'

const kill = (t: { teardown: (f: () => void) => void }, ...ps: Proc[]): void => t.teardown(() => ps.forEach((p) => p.kill()))

// A man in the middle: forwards both ways and rewrites one word in what the client sends.
const relay = async (t: { teardown: (f: () => void) => void }, port: number, from: string, to: string): Promise<number> => {
  const server = createServer((client: Socket) => {
    const up = connect({ host: '127.0.0.1', port })
    client.on('data', (d: Buffer) => up.write(Buffer.from(d.toString('latin1').split(from).join(to), 'latin1')))
    up.pipe(client)
    client.on('error', () => up.destroy())
    up.on('error', () => client.destroy())
    client.on('close', () => up.destroy())
    up.on('close', () => client.destroy())
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  t.teardown(() => server.close())
  return (server.address() as { port: number }).port
}

// the collector's replies, once it closes or once they hold `done`
const rawHandshake = (port: number, hello: string, done = /REFUSED|OK/): Promise<string> =>
  new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => s.write(hello))
    let got = ''
    s.on('data', (d) => {
      got += d.toString()
      if (done.test(got) && got.endsWith('\n')) {
        s.destroy()
        resolve(got)
      }
    })
    s.on('error', () => undefined)
    s.on('close', () => resolve(got))
  })

t.test('a relay that rewrites a batch is caught by the frame MAC: nothing forged is emitted', async (t) => {
  const dir = t.testdir()
  writeFileSync(`${dir}/token`, 's3cret\n')
  const col = await startCollect(dir, `--token-file ${dir}/token`, 'out.ndjson')
  kill(t, col)
  const port = await relay(t, col.port, 'genuine', 'FORGED!')
  const ship = run(`echo genuine-event | ${tsf} ship 127.0.0.1:${port} --token-file token --shutdown-timeout 2s`, dir)
  kill(t, ship)
  t.equal(await ship.exited, 1, 'ship does not report success for a batch that never arrived intact')
  t.match(ship.stderr(), /MAC check/)
  t.match(col.stderr(), /failed its MAC check/)
  t.same(lines(`${dir}/out.ndjson`), [], 'the forged batch was not emitted')
  // the same ship straight to the collector delivers
  const direct = run(`echo genuine-event | ${tsf} ship 127.0.0.1:${col.port} --token-file token`, dir)
  kill(t, direct)
  t.equal(await direct.exited, 0, direct.stderr())
  t.same(
    lines(`${dir}/out.ndjson`).map((l) => (JSON.parse(l) as { body: string }).body),
    ['genuine-event'],
  )
})

t.test('a sender that does not offer MACs (an older ship) is refused with a token and without TLS, in one line', async (t) => {
  const dir = t.testdir()
  writeFileSync(`${dir}/token`, 's3cret\n')
  const col = await startCollect(dir, `--token-file ${dir}/token`, 'out.ndjson')
  kill(t, col)
  const reply = await rawHandshake(col.port, 'TSF/1 HELLO nonce=aaaaaaaaaaaaaaaaaaaaaaaa compress=\n')
  t.match(reply, /^TSF\/1 REFUSED frame MACs are required with a token and without TLS: this tsf ship is older than this collector/)
  // without a token nothing changes for older ships
  const open = await startCollect(dir, '', 'open.ndjson')
  kill(t, open)
  const hello = await rawHandshake(open.port, 'TSF/1 HELLO nonce=aaaaaaaaaaaaaaaaaaaaaaaa compress=\nTSF/1 AUTH proof=-\n')
  t.match(hello, /CHALLENGE .* mac=none\nTSF\/1 OK proof=-\n/)
})

t.test('--agent-tokens: each agent proves its own secret and its events live in its own src space', async (t) => {
  const dir = t.testdir()
  writeFileSync(`${dir}/agents`, '# name:secret\nweb1:alpha-secret\nweb2:beta-secret\n')
  writeFileSync(`${dir}/web1.secret`, 'alpha-secret\n')
  writeFileSync(`${dir}/web2.secret`, 'beta-secret\n')
  const col = await startCollect(dir, `--agent-tokens ${dir}/agents`, 'out.ndjson')
  kill(t, col)
  const ev = (body: string, src: string): string => `'${JSON.stringify({ body, src, seq: 1 })}'`
  const a = run(`echo ${ev('from web1', 'X.1')} | ${tsf} ship 127.0.0.1:${col.port} --agent web1 --token-file web1.secret`, dir)
  kill(t, a)
  t.equal(await a.exited, 0, a.stderr())
  // web2 claims web1's stream, plainly and already prefixed: it gets its own space either way
  const b = run(
    `printf '%s\\n' ${ev('forged as web1', 'X.1')} ${ev('forged prefix', 'web1/X.1')} | ${tsf} ship 127.0.0.1:${col.port} --agent web2 --token-file web2.secret`,
    dir,
  )
  kill(t, b)
  t.equal(await b.exited, 0, b.stderr())
  const out = lines(`${dir}/out.ndjson`).map((l) => JSON.parse(l) as { body: string; src: string })
  t.same(
    out.map((e) => [e.body, e.src]),
    [
      ['from web1', 'web1/X.1'],
      ['forged as web1', 'web2/X.1'],
      ['forged prefix', 'web2/web1/X.1'],
    ],
  )
  // web2's secret does not open web1's name, and a nameless sender is told what is missing
  const wrong = run(`echo x | ${tsf} ship 127.0.0.1:${col.port} --agent web1 --token-file web2.secret --shutdown-timeout 2s`, dir)
  const nameless = run(`echo x | ${tsf} ship 127.0.0.1:${col.port} --token-file web2.secret --shutdown-timeout 2s`, dir)
  kill(t, wrong, nameless)
  t.equal(await wrong.exited, 1)
  t.match(wrong.stderr(), /refused us: wrong agent name or token/)
  t.equal(await nameless.exited, 1)
  t.match(nameless.stderr(), /refused us: an agent name is required \(tsf ship --agent NAME\)/)
  t.equal(lines(`${dir}/out.ndjson`).length, 3)
})

t.test('--agent-tokens from a directory, and bad token files named in one line', async (t) => {
  const dir = t.testdir({ agents: { web1: 'alpha\n' }, 'bad-agents': 'web1 alpha\n', 'dup-agents': 'a:x\na:y\n' })
  writeFileSync(`${dir}/web1.secret`, 'alpha\n')
  const col = await startCollect(dir, `--agent-tokens ${dir}/agents`, 'out.ndjson')
  kill(t, col)
  const a = run(`echo hi | ${tsf} ship 127.0.0.1:${col.port} --agent web1 --token-file web1.secret`, dir)
  kill(t, a)
  t.equal(await a.exited, 0, a.stderr())
  for (const [file, message] of [
    ['bad-agents', /--agent-tokens: .*bad-agents line 1: expected NAME:SECRET/],
    ['dup-agents', /--agent-tokens: .*dup-agents line 2: agent 'a' is listed twice/],
  ] as const) {
    const p = run(`${tsf} collect --agent-tokens ${file}`, dir)
    kill(t, p)
    t.equal(await p.exited, 2)
    t.match(p.stderr(), message)
    t.notMatch(p.stderr(), /at .*\.js:\d+/)
  }
})

t.test('a ship with a token refuses a collector that does not authenticate frames (an older collect), unless over TLS', async (t) => {
  const dir = t.testdir()
  writeFileSync(`${dir}/token`, 's3cret\n')
  // an older collector: asks for the token but answers no mac= field
  const server = createServer((s: Socket) => {
    s.on('error', () => undefined)
    s.once('data', () => s.write('TSF/1 CHALLENGE nonce=bbbbbbbbbbbbbbbbbbbbbbbb auth=token compress=none\n'))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  t.teardown(() => server.close())
  const port = (server.address() as { port: number }).port
  const ship = run(`echo x | ${tsf} ship 127.0.0.1:${port} --token-file token --shutdown-timeout 2s`, dir)
  kill(t, ship)
  t.equal(await ship.exited, 1)
  t.match(ship.stderr(), /does not authenticate frames \(an older tsf collect\?\): upgrade it, or use tls:\/\//)
})
