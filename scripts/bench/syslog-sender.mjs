// Sends every line of a file as an RFC 5424 syslog message over one TCP connection, LF-framed
// (the traditional framing every receiver accepts), as fast as the receiver takes them.
// usage: node syslog-sender.mjs FILE PORT
import { createReadStream } from 'node:fs'
import { connect } from 'node:net'
import { once } from 'node:events'

const [file, port] = process.argv.slice(2)
const prefix = '<134>1 2026-01-01T00:00:00.000Z bench access - - - '
const socket = connect(Number(port), '127.0.0.1')
await once(socket, 'connect')
let rest = ''
let sent = 0
for await (const chunk of createReadStream(file, { encoding: 'latin1', highWaterMark: 1 << 16 })) {
  const lines = (rest + chunk).split('\n')
  rest = lines.pop()
  sent += lines.length
  if (!socket.write(lines.map((l) => prefix + l + '\n').join(''), 'latin1')) await once(socket, 'drain')
}
socket.end()
await once(socket, 'close')
process.stderr.write(`sent ${sent}\n`)
