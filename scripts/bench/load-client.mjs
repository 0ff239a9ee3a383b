// A load client for one collector: many connections, measured from outside (RSS and CPU of the
// collector from /proc), with a real `tsf ship` that must still get through.
// usage: node scripts/bench/load-client.mjs [--silent N] [--idle N] [--senders N] [--rate BATCHES/S]
//                                           [--seconds S] [--collect-args '...']
//   --silent N   raw sockets that never say a word (the collector's eviction path)
//   --idle N     tsf connections that finish the handshake and then send nothing
//   --senders N  tsf connections that each send a batch of 100 events at --rate per second
//   --stalled N  tsf connections that declare a 64 MiB batch, send 60 MiB of it and stop
// It starts `tsf collect --listen 127.0.0.1:0 ARGS > /dev/null`, opens the connections, holds them
// for --seconds, ships one line with a real `tsf ship` meanwhile, and prints what it measured.
import { execFile } from 'node:child_process'
import { connect } from 'node:net'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { startBareCollect } from './bare-collect.mjs'
import { promisify } from 'node:util'

const root = fileURLToPath(new URL('../../', import.meta.url))
const { WireConnection } = await import(`${root}dist/sinks/tcp/connection.js`)
const { encodeBatch } = await import(`${root}dist/core/wire/batch.js`)
const arg = (name, dflt) => {
  const i = process.argv.indexOf(name)
  return i > 0 ? process.argv[i + 1] : dflt
}
const silentN = Number(arg('--silent', 0))
const idleN = Number(arg('--idle', 0))
const sendersN = Number(arg('--senders', 0))
const stalledN = Number(arg('--stalled', 0))
const rate = Number(arg('--rate', 1))
const seconds = Number(arg('--seconds', 20))
const collectArgs = arg('--collect-args', '')

const { child: collect, port } = await startBareCollect(`node ${root}bin/tsf.js`, collectArgs)
const pid = collect.pid
const tick = 100 // clock ticks per second on Linux
const proc = () => {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = (f) => Number(new RegExp(`${f}:\\s+(\\d+)`).exec(status)[1]) / 1024
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ')
  return { rss: kb('VmRSS'), hwm: kb('VmHWM'), cpu: (Number(stat[11]) + Number(stat[12])) / tick }
}
const start = proc()

const sockets = []
for (let i = 0; i < silentN; i++) {
  const s = connect({ host: '127.0.0.1', port })
  s.on('error', () => undefined)
  s.resume()
  sockets.push(s)
  if (i % 500 === 499) await new Promise((r) => setTimeout(r, 10))
}
const conns = []
const open = async (n) => {
  for (let i = 0; i < n; i += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, n - i) }, async () => {
        const c = new WireConnection(
          { kind: 'tcp', host: '127.0.0.1', port, name: 'load' },
          { gzip: false, connectTimeout: 60_000, ackTimeout: 120_000 },
        )
        c.on('end', () => undefined)
        await c.open()
        conns.push(c)
        return c
      }),
    )
  }
}
await open(idleN)
let before = conns.length
await open(stalledN)
const { encodeHeader } = await import(`${root}dist/core/wire/frames.js`)
const MiB = 1024 * 1024
for (const c of conns.slice(before)) c.socket.write(Buffer.concat([encodeHeader(0x42, 0, 1, 1, 64 * MiB), Buffer.alloc(60 * MiB, 0x61)]))
before = conns.length
await open(sendersN)
const senders = conns.slice(before)
let acked = 0
let sent = 0
for (const c of senders) c.on('ack', () => acked++)
const payload = encodeBatch(
  Array.from(
    { length: 100 },
    (_, i) => `{"body":"load event ${i} 0123456789 abcdefghijklmnopqrstuvwxyz 0123456789 abcdefghijklmnopqrstuvwxyz"`,
  ),
)
const timers = senders.map((c, i) =>
  setTimeout(
    () =>
      timers.push(
        setInterval(() => {
          if (c.isEnded || c.inFlight > 2) return
          c.send({ seq: sent++, payload, count: 100, shares: [] })
        }, 1000 / rate),
      ),
    (i * 1000) / rate / Math.max(1, senders.length),
  ),
)
const loaded = proc()
// the real ship, while all of the above hold on
const shipStart = Date.now()
const ship = await promisify(execFile)('sh', [
  '-c',
  `echo through | node ${root}bin/tsf.js ship 127.0.0.1:${port} --shutdown-timeout 60s`,
]).then(
  () => `delivered in ${((Date.now() - shipStart) / 1000).toFixed(2)} s`,
  (e) => `FAILED: ${e.stderr}`,
)
const rssSamples = []
const t0 = proc()
for (let s = 0; s < seconds; s++) {
  await new Promise((r) => setTimeout(r, 1000))
  rssSamples.push(proc().rss)
  if (process.env.LOAD_TRACE) console.log(`  ${s + 1} s: RSS ${rssSamples.at(-1).toFixed(0)} MiB`)
}
const end = proc()
const openNow = sockets.filter((s) => !s.destroyed).length
for (const t of timers) clearInterval(t)
for (const c of conns) c.close()
for (const s of sockets) s.destroy()
collect.kill('SIGTERM')
console.log(
  `collect ${collectArgs || '(defaults)'}: ${silentN} silent sockets (${openNow} still open at the end), ${idleN} idle tsf connections, ${stalledN} stalled mid-frame, ${sendersN} senders at ${rate} batch/s of 100 events`,
)
console.log(
  `  RSS: ${start.rss.toFixed(0)} MiB at start, ${loaded.rss.toFixed(0)} MiB once connected, ${Math.min(...rssSamples).toFixed(0)}-${Math.max(...rssSamples).toFixed(0)} MiB over ${seconds} s, peak ${end.hwm.toFixed(0)} MiB`,
)
console.log(
  `  CPU: ${(loaded.cpu - start.cpu).toFixed(2)} s to connect, ${(end.cpu - t0.cpu).toFixed(2)} s over the ${seconds} s held (${(((end.cpu - t0.cpu) / seconds) * 100).toFixed(1)}% of a core)`,
)
console.log(`  batches acked: ${acked} (${((acked * 100) / seconds / 1000).toFixed(1)}k events/s)  real ship: ${ship}`)
process.exit(0)
