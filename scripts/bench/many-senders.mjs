// Many senders into one collector: the first LINES lines of FILE dealt round-robin over N
// connections that are all open before the first byte is sent, each sending its share as fast as
// the collector takes it. Measures what a collector costs with a fleet connected (issue 12:
// "memory stays flat with 1,000 senders connected to one collector").
// usage: node many-senders.mjs FILE PORT N LINES syslog|wire
//   syslog  RFC 5424 messages, LF-framed, the same bytes as syslog-sender.mjs (any syslog receiver)
//   wire    tsf's own protocol (tsf collect --listen), batches of up to 100 events, 2 in flight
import { once } from 'node:events'
import { closeSync, openSync, readSync } from 'node:fs'
import { connect } from 'node:net'
import { fileURLToPath } from 'node:url'

const [file, port, n, wanted, mode] = process.argv.slice(2)
const WANTED = Number(wanted)
const N = Number(n)
const root = fileURLToPath(new URL('../../', import.meta.url))
const prefix = '<134>1 2026-01-01T00:00:00.000Z bench access - - - '

// every connection's share of the lines (read only as far as needed: a 1 GiB log is more than
// one string may hold)
const shares = Array.from({ length: N }, () => [])
{
  const fd = openSync(file, 'r')
  const chunk = Buffer.alloc(1 << 20)
  let rest = ''
  let dealt = 0
  for (;;) {
    const got = readSync(fd, chunk, 0, chunk.length, null)
    if (got === 0) break
    const lines = (rest + chunk.toString('latin1', 0, got)).split('\n')
    rest = lines.pop()
    for (const line of lines) {
      if (dealt >= WANTED) break
      shares[dealt % N].push(line)
      dealt++
    }
    if (dealt >= WANTED) break
  }
  closeSync(fd)
}

const opened = []
if (mode === 'syslog') {
  for (let i = 0; i < N; i += 100) {
    const group = Array.from({ length: Math.min(100, N - i) }, () => {
      const socket = connect(Number(port), '127.0.0.1')
      socket.on('error', (e) => {
        process.stderr.write(`many-senders: ${e.message}\n`)
        process.exit(1)
      })
      return once(socket, 'connect').then(() => socket)
    })
    opened.push(...(await Promise.all(group)))
  }
  await Promise.all(
    opened.map(async (socket, i) => {
      const share = shares[i]
      for (let at = 0; at < share.length; at += 200) {
        const chunk = share
          .slice(at, at + 200)
          .map((l) => prefix + l + '\n')
          .join('')
        if (!socket.write(chunk, 'latin1')) await once(socket, 'drain')
      }
      socket.end()
      await once(socket, 'close')
    }),
  )
} else {
  const { WireConnection } = await import(`${root}dist/sinks/tcp/connection.js`)
  const { encodeBatch } = await import(`${root}dist/core/wire/batch.js`)
  for (let i = 0; i < N; i += 100) {
    const group = Array.from({ length: Math.min(100, N - i) }, async () => {
      const c = new WireConnection(
        { kind: 'tcp', host: '127.0.0.1', port: Number(port), name: 'many' },
        { gzip: false, connectTimeout: 60_000, ackTimeout: 300_000 },
      )
      c.on('end', () => undefined)
      await c.open()
      return c
    })
    opened.push(...(await Promise.all(group)))
  }
  let seq = 0
  await Promise.all(
    opened.map(
      (c, i) =>
        new Promise((resolve, reject) => {
          const share = shares[i]
          let at = 0
          let inFlight = 0
          const next = () => {
            while (inFlight < 2 && at < share.length) {
              const heads = share.slice(at, at + 100).map((l) => `{"body":${JSON.stringify(l)}`)
              at += heads.length
              inFlight++
              c.send({ seq: seq++, payload: encodeBatch(heads), count: heads.length, shares: [] })
            }
            if (inFlight === 0 && at >= share.length) resolve()
          }
          c.on('ack', () => {
            inFlight--
            next()
          })
          c.on('error', reject)
          next()
        }),
    ),
  )
  for (const c of opened) c.close()
}
process.stderr.write(`many-senders: ${N} connections sent ${shares.reduce((a, s) => a + s.length, 0)} lines\n`)
