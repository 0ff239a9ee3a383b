// The syslog and --plain listeners' flow control with many senders (src/sources/tcp/read-gate.ts): while 200
// connections wait in the gate (their reads held, sockets stopped), what is handed to a stalled
// sink stays within about a quantum, and every line arrives once: none lost among the reads held
// while waiting, at 'end' or at close, none handed over twice.
// And the gate itself: connections reading freely are held when it turns busy, and all of them
// once a quantum of reads is held (a herd of idle senders starting at once).
import t from 'tap'
import { once } from 'node:events'
import { connect, type Socket } from 'node:net'
import { PassThrough } from 'node:stream'
import { Counters } from '../../../src/core/metrics.js'
import { PrintSink } from '../../../src/sinks/print.js'
import { QUANTUM, READ_SIZE, ReadGate, type Turn } from '../../../src/sources/tcp/read-gate.js'
import { TcpListeners } from '../../../src/sources/tcp/server.js'
import { SyslogListeners } from '../../../src/sources/tcp/syslog-listeners.js'

const SENDERS = 200
const LINES = 800 // ~70 KiB per sender: more than one read each

// stdout for the sink: nobody reads it until the test does, and it remembers how much it ever held
class Stdout extends PassThrough {
  most = 0
  constructor() {
    super({ highWaterMark: 16 * 1024 })
  }
  override write(chunk: unknown, ...rest: unknown[]): boolean {
    const r = super.write(chunk as string, ...(rest as []))
    this.most = Math.max(this.most, this.writableLength)
    return r
  }
}

// a listener of each kind, writing into `out`: its port, the bytes of reads it holds until their turn
interface Listener {
  port: number
  held: () => number
  close: () => void
}

const syslogListener = async (out: Stdout): Promise<Listener> => {
  const listeners = new SyslogListeners(
    { addresses: [{ proto: 'tcp', host: '127.0.0.1', port: 0 }], maxEvent: 65536, maxConnections: 1000, idleTimeout: 600_000 },
    new PrintSink({ stream: out, colour: false }),
    new Counters('collect'),
  )
  await listeners.start()
  return { port: listeners.tcpPorts[0]!, held: () => listeners.held, close: () => listeners.close() }
}

const plainListener = async (out: Stdout): Promise<Listener> => {
  const listeners = new TcpListeners(
    {
      listen: [{ host: '127.0.0.1', port: 0 }],
      maxConnections: 1000,
      maxBuffer: 64 * 1024 * 1024,
      plain: true,
      gzip: false,
      maxEvent: 65536,
      maxBatchBytes: 64 * 1024 * 1024,
      readTimeout: 600_000,
      idleTimeout: 600_000,
      handshakeTimeout: 600_000,
    },
    new PrintSink({ stream: out, colour: false }),
    new Counters('collect'),
  )
  await listeners.start()
  return { port: listeners.ports[0]!, held: () => listeners.held, close: () => listeners.close() }
}

for (const [kind, listen, line] of [
  ['syslog', syslogListener, (body: string) => `<134>1 2026-01-01T00:00:00.000Z host app - - - ${body}\n`],
  ['--plain', plainListener, (body: string) => `${body}\n`],
] as const)
  t.test(`${SENDERS} ${kind} senders into a stalled stdout: it holds about a quantum, and all lines arrive once`, async (t) => {
    const out = new Stdout()
    const listeners = await listen(out)
    t.teardown(() => listeners.close())
    const port = listeners.port
    const sockets: Socket[] = []
    for (let i = 0; i < SENDERS; i++) {
      const s = connect(port, '127.0.0.1')
      await once(s, 'connect')
      sockets.push(s)
    }
    // the most bytes of reads held until their turn (they stay held while stdout is not read)
    let mostHeld = 0
    const watch = setInterval(() => (mostHeld = Math.max(mostHeld, listeners.held())), 1)
    t.teardown(() => clearInterval(watch))
    const want = new Map<string, number>()
    for (const [i, s] of sockets.entries()) {
      let text = ''
      for (let k = 0; k < LINES; k++) {
        const body = `sender ${i} line ${k} ${'x'.repeat(40)}`
        want.set(body, 1)
        text += line(body)
      }
      s.end(text)
    }
    // read stdout only once every sender is done writing into TCP (their data wait in the kernel
    // and in the collector), then a little at a time
    await Promise.all(sockets.map((s) => once(s, 'finish')))
    const got = new Map<string, number>()
    let rest = ''
    let seen = 0
    while (seen < SENDERS * LINES) {
      const chunk = out.read(8 * 1024) ?? out.read()
      if (chunk === null) {
        await once(out, 'readable')
        continue
      }
      const lines = (rest + chunk.toString()).split('\n')
      rest = lines.pop()!
      for (const line of lines) {
        const body = /(sender \d+ line \d+ x+)$/.exec(line)?.[1]
        if (!body) continue
        got.set(body, (got.get(body) ?? 0) + 1)
        seen++
      }
    }
    t.equal(seen, SENDERS * LINES, 'every line arrived')
    // the herd started at once: past a quantum of reads held, every sender still reading freely was
    // held before its read was taken (each had one of up to 64 KiB taken and held until its turn)
    t.ok(
      mostHeld <= 2 * QUANTUM + READ_SIZE,
      `reads held while the gate was busy: at most ${mostHeld} bytes (<= ${2 * QUANTUM + READ_SIZE})`,
    )
    t.same(
      [...got.entries()].filter(([, n]) => n !== 1),
      [],
      'none twice',
    )
    t.equal(got.size, want.size, 'none missing')
    // printed lines are a little longer than the syslog lines: a quantum's worth and a bit
    t.ok(out.most < 3 * QUANTUM, `stdout held at most ${out.most} bytes (< ${3 * QUANTUM})`)
  })

t.test('when the gate turns busy, connections that read freely are held and queued behind the first; idle ones stay free', async (t) => {
  let open!: () => void
  const sink = { ready: () => new Promise<void>((resolve) => (open = resolve)) }
  const gate = new ReadGate(sink, 100)
  const ran: string[] = []
  const held: string[] = []
  const turn = (name: string): Turn => ({
    run: () => {
      ran.push(name)
      return 10
    },
    hold: () => held.push(name),
  })
  const [a, b, c, idle] = [turn('a'), turn('b'), turn('c'), turn('idle')]
  gate.reading(a)
  gate.reading(b)
  gate.reading(c)
  gate.reading(idle)
  t.ok(gate.admit(30, a), 'free: a read is let in at once')
  t.ok(gate.admit(30, b))
  t.ok(gate.admit(40, c))
  // the quantum is spent: c's next read queues, and a and b stop reading before theirs
  t.notOk(gate.admit(10, c), 'spent: the next one queues')
  gate.enqueue(c)
  t.same(held, ['a', 'b'], 'the others that read were held; the idle one was not')
  t.equal(gate.waiting, 3)
  while (!open) await new Promise<void>((resolve) => setImmediate(resolve))
  open()
  while (ran.length < 3) await new Promise<void>((resolve) => setImmediate(resolve))
  t.same(ran, ['c', 'a', 'b'], 'in the order they queued')
  gate.leave(a)
  gate.leave(b)
  gate.leave(c)
  gate.leave(idle)
})

t.test('past a quantum of reads held while the gate is busy, every connection reading freely is held and queued', async (t) => {
  let open!: () => void
  const sink = { ready: () => new Promise<void>((resolve) => (open = resolve)) }
  const gate = new ReadGate(sink, 100)
  const held: string[] = []
  const turn = (name: string): Turn => ({ run: () => 10, hold: () => held.push(name) })
  const [busy, b, c, idle1, idle2] = [turn('busy'), turn('b'), turn('c'), turn('idle1'), turn('idle2')]
  for (const x of [busy, b, c, idle1, idle2]) gate.reading(x)
  t.ok(gate.admit(100, busy), 'the busy one spends the quantum')
  gate.enqueue(busy)
  // b and c start sending: their reads are taken while the gate is busy and held
  t.notOk(gate.admit(60, b))
  gate.enqueue(b)
  gate.holding(60)
  t.same(held, [], 'under a quantum held: the idle ones stay free')
  t.notOk(gate.admit(60, c))
  gate.enqueue(c)
  gate.holding(60)
  t.same(held, ['idle1', 'idle2'], 'past a quantum held: the others reading freely are held too')
  t.equal(gate.waiting, 5, 'and queued')
  t.equal(gate.held, 120)
  gate.holding(-120)
  t.equal(gate.held, 0, 'handed on: no longer counted')
  while (!open) await new Promise<void>((resolve) => setImmediate(resolve))
  for (const x of [busy, b, c, idle1, idle2]) gate.leave(x)
  gate.stop()
  open()
})
