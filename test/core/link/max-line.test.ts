import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { sh, tsf } from '../../fixtures/procs.js'
import { rolledLines } from '../../fixtures/pipelines.js'

// MAXLINE (docs/protocol.md §2) between stages of different versions: a reader that does not know
// the message ignores it and links as before; a writer that never says it is framed by the
// default --max-line, as before.

// A reader of the protocol before MAXLINE: it takes exactly the lines it knows (OK, FIN …) and
// ignores the rest. It links to the writer of the first line it reads, acks that line, and prints
// what the writer said.
const oldReader = `
import { connect } from 'node:net'
let text = ''
let linked = false
process.stdin.on('data', (d) => {
  text += d
  const nl = text.indexOf('\\n')
  if (nl < 0 || linked) return
  linked = true
  const [, link, nonce, position] = /"_ack":"([^.]+)\\.([^.]+)\\.(\\d+)"}$/.exec(text.slice(0, nl))
  const socket = connect({ path: '\\0tsf-link.' + link })
  socket.write('HELLO 1 ' + nonce + '\\n')
  let said = ''
  socket.on('data', (d) => {
    said += d
    for (const line of said.split('\\n')) if (line === 'OK') socket.write('ACK ' + position + '\\n')
    if (/^FIN /m.test(said)) {
      process.stdout.write(said)
      socket.end()
    }
  })
})
`

t.test('an old reader ignores MAXLINE: it links, acks, and the writer checkpoints', async (t) => {
  const dir = t.testdir({ 'old-reader.mjs': oldReader })
  writeFileSync(`${dir}/app.log`, 'one line\n')
  const r = await sh(t, `${tsf} tail ${dir}/app.log --state ${dir}/st --max-line 16M | node ${dir}/old-reader.mjs`).done
  t.equal(r.code, 0, r.stderr)
  const said = r.stdout.split('\n')
  t.ok(said.indexOf('MAXLINE 16777216') >= 0 && said.indexOf('MAXLINE 16777216') < said.indexOf('OK'), `MAXLINE right before OK: ${said}`)
  t.ok(said.includes('FIN 1'), 'the writer ended cleanly')
  const files = (JSON.parse(readFileSync(`${dir}/st/checkpoints.json`, 'utf8')) as { files: { pos: number }[] }).files
  t.equal(files[0]!.pos, 9, 'the old reader acked the line and tail checkpointed it')
})

// A writer of the protocol before MAXLINE: answers HELLO with OK only. Its lines carry bodies of
// 3 MiB (6 MiB escaped) and 600 KiB: within the default frame.
const oldWriter = `
import { createServer } from 'node:net'
import { randomBytes } from 'node:crypto'
const link = randomBytes(12).toString('base64url')
const nonce = randomBytes(12).toString('base64url')
const bodies = ['"'.repeat(3 * 1024 * 1024), 'between', 'x'.repeat(600 * 1024)]
let acked = 0
const server = createServer((socket) => {
  let text = ''
  socket.on('data', (d) => {
    text += d
    for (let nl = text.indexOf('\\n'); nl >= 0; nl = text.indexOf('\\n')) {
      const line = text.slice(0, nl)
      text = text.slice(nl + 1)
      if (line === 'HELLO 1 ' + nonce) socket.write('OK\\n')
      const m = /^ACK (\\d+)$/.exec(line)
      if (m) acked = Number(m[1])
      if (acked === bodies.length) {
        socket.end('FIN ' + bodies.length + '\\n')
        server.close()
      }
    }
  })
})
server.listen({ path: '\\0tsf-link.' + link }, () => {
  const lines = bodies.map((b, i) => JSON.stringify({ body: b, ts: 1763769600000, src: 'old', seq: i + 1 }).slice(0, -1) + ',"_ack":"' + link + '.' + nonce + '.' + (i + 1) + '"}\\n')
  process.stdout.end(lines.join(''))
})
`

t.test('a new reader of an old writer frames by the default --max-line: every event whole, acked', async (t) => {
  const dir = t.testdir({ 'old-writer.mjs': oldWriter })
  const r = await sh(t, `node ${dir}/old-writer.mjs | ${tsf} roll ${dir}/out --max-line 1K`).done
  t.equal(r.code, 0, r.stderr)
  const lines = rolledLines(`${dir}/out`)
  t.same(
    lines.map((l) => (l.length > 40 ? `${l[0]} x ${l.length}` : l)),
    [`" x ${3 * 1024 * 1024}`, 'between', `x x ${600 * 1024}`],
    'each event once, whole, its cursor gone',
  )
})
