// holdReads stops a server socket's reads at once (src/sources/tcp/socket-reads.ts): what the
// sender sends next waits in the kernel, not in the collector, although the stream asks for more
// after every read; releaseReads lets all of it in. A listener made with pauseOnConnect reads
// nothing until released.
import t, { type Test } from 'tap'
import { once } from 'node:events'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { holdReads, releaseReads } from '../../../src/sources/tcp/socket-reads.js'

const MiB = 1024 * 1024

// a few turns of the event loop: the stream's ask for more runs on the next tick, and a read it
// starts arrives at the next poll (the sender's bytes are already in the kernel)
const turns = async (n: number): Promise<void> => {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve))
}

const serve = async (t: Test, options: { pauseOnConnect?: boolean }): Promise<{ server: Server; accepted: Promise<Socket> }> => {
  let accept!: (s: Socket) => void
  const accepted = new Promise<Socket>((resolve) => (accept = resolve))
  const server = createServer(options, accept)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  t.teardown(() => server.close())
  return { server, accepted }
}

const send = (server: Server, bytes: number): Socket => {
  const c = connect((server.address() as { port: number }).port, '127.0.0.1')
  c.on('error', () => undefined)
  c.end(Buffer.alloc(bytes, 'x'))
  return c
}

t.test('held after a read, a socket reads no more until released; then every byte arrives', async (t) => {
  const { server, accepted } = await serve(t, {})
  const sender = send(server, 4 * MiB)
  t.teardown(() => sender.destroy())
  const s = await accepted
  let got = 0
  let holding = true
  s.on('data', (chunk: Buffer) => {
    got += chunk.length
    if (holding) holdReads(s)
  })
  while (got === 0) await turns(1)
  const first = got
  await turns(20)
  t.equal(got, first, 'no more data events while held')
  t.equal(s.readableLength, 0, 'and nothing read into the stream while held')
  holding = false
  releaseReads(s)
  await once(s, 'end')
  t.equal(got, 4 * MiB, 'every byte after the release')
})

t.test('a pauseOnConnect socket reads nothing until released', async (t) => {
  const { server, accepted } = await serve(t, { pauseOnConnect: true })
  const sender = send(server, MiB)
  t.teardown(() => sender.destroy())
  const s = await accepted
  let got = 0
  s.on('data', (chunk: Buffer) => (got += chunk.length))
  await once(sender, 'finish')
  await turns(20)
  t.equal(got + s.readableLength, 0, 'nothing read before the release')
  releaseReads(s)
  await once(s, 'end')
  t.equal(got, MiB, 'every byte after it')
})
