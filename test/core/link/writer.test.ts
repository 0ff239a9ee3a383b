import t from 'tap'
import { execFileSync } from 'node:child_process'
import { createReadStream, statSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { readerAnnouncePath } from '../../../src/core/link/cursor.js'
import { fixture, lines, readNumber, sh, tmpdir, tsf, until } from '../../fixtures/procs.js'

const W = fixture('link-writer.mjs')
const R = fixture('link-reader.mjs')

t.test('several tsf exec writers into one pipe: no line is torn', async (t) => {
  const dir = tmpdir(t)
  writeFileSync(
    `${dir}/gen.js`,
    `const s = 'x'.repeat(300); let o = ''; for (let i = 0; i < 20000; i++) o += s + i + '\\n'; process.stdout.write(o)\n`,
  )
  const x = `${tsf} exec -- node gen.js`
  const r = await sh(t, `{ ${x} & ${x} & ${x} & ${x} & wait; } | cat > out`, { cwd: dir }).done
  t.equal(r.code, 0, r.stderr)
  const out = lines(`${dir}/out`)
  t.equal(out.length, 80000)
  let torn = 0
  for (const line of out) {
    try {
      JSON.parse(line)
    } catch {
      torn++
    }
  }
  t.equal(torn, 0, 'every line is whole JSON')
  t.equal(r.stderr.match(/same pipe/g)?.length, 4, 'each writer saw the others before its first write')
})

t.test('a waiting parent (timeout, GNU time, a shell) is not a second writer: full-size writes', async (t) => {
  const dir = tmpdir(t)
  const r = await sh(t, `timeout 120 ${W} 20000 ck | ${R} out`, { cwd: dir }).done
  t.equal(r.code, 0, r.stderr)
  t.notMatch(r.stderr, /same pipe/)
  t.equal(readNumber(`${dir}/ck`), 20000)
})

// A tsf reader of a pipe frames a writer's lines by the MAXLINE the writer told it: told before the
// first byte, the reader never has to wait for it at a long first line (docs/protocol.md §2). The
// test plays that reader on a FIFO (its announce socket and the read end) and notes the order.
t.test('the writer introduces itself (MAXLINE, WRITER) to the tsf reader of its pipe before its first byte', async (t) => {
  const dir = tmpdir(t)
  const fifo = `${dir}/fifo`
  execFileSync('mkfifo', [fifo])
  const order: string[] = []
  let introduction = ''
  const server = createServer((socket) => {
    socket.on('error', () => undefined)
    socket.write('tsf\n')
    socket.setEncoding('latin1')
    let text = ''
    socket.on('data', (d: string) => {
      text += d
      if (text.endsWith('WRITER\n') && !introduction) {
        introduction = text
        order.push('KNOWN')
        socket.write('KNOWN\n')
      }
    })
  })
  await new Promise<void>((resolve) => server.listen({ path: readerAnnouncePath(statSync(fifo).ino) }, resolve))
  t.teardown(() => server.close())
  const run = sh(t, `exec ${W} 5 ck > fifo`, { cwd: dir })
  const input = createReadStream(fifo)
  t.teardown(() => input.destroy())
  input.once('data', () => order.push('first byte'))
  await until(() => order.includes('first byte'), 60_000, 'the first byte', run.stderr)
  t.match(introduction, /^MAXLINE \d+\nWRITER\n$/)
  t.same(order, ['KNOWN', 'first byte'], 'the reader knew the writer and its max-line before its first byte')
})
