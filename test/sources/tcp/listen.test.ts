import t from 'tap'
import { createSocket } from 'node:dgram'
import { createServer } from 'node:net'
import { TsfError } from '../../../src/core/errors.js'
import { listenOn } from '../../../src/sources/tcp/listen.js'

t.test('a listener that cannot listen is one line naming its option, without the address twice', async (t) => {
  const first = createServer()
  await listenOn(first, () => first.listen({ host: '127.0.0.1', port: 0 }), '--listen first')
  t.teardown(() => first.close())
  const { port } = first.address() as { port: number }
  const second = createServer()
  const error = await listenOn(second, () => second.listen({ host: '127.0.0.1', port }), `--listen 127.0.0.1:${port}`).then(
    () => undefined,
    (e: unknown) => e,
  )
  t.ok(error instanceof TsfError, 'a TsfError: said on one line, no stack')
  t.equal((error as Error).message, `--listen 127.0.0.1:${port}: address already in use`)
})

t.test('a UDP socket starts the same way', async (t) => {
  const socket = createSocket('udp4')
  await listenOn(socket, () => socket.bind(0, '127.0.0.1'), '--syslog udp://127.0.0.1:0')
  t.teardown(() => socket.close())
  t.ok(socket.address().port > 0, 'bound')
  t.ok(socket.listenerCount('error') > 0, "later errors are said, not thrown out of node's event loop")
})
