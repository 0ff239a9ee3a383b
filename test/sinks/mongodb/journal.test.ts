import t from 'tap'
import { writeFileSync } from 'node:fs'
import { connect, createServer, type AddressInfo, type Socket } from 'node:net'
import { BSON, type Document } from 'mongodb'
import { mongodbAddress } from '../../fixtures/servers.js'
import { run, tsf, type Proc } from '../../fixtures/tcp-helpers.js'
import { countDocs, dbName } from './mongo.js'

// What ship asks of MongoDB, read off the wire: a proxy between ship and the test server decodes
// every OP_MSG ship sends. The test server has no journal, so only the request can show that ship
// asks for journaled writes.

const cleanup = (t: { teardown: (fn: () => void) => void }, ...procs: Proc[]): void => t.teardown(() => procs.forEach((p) => p.kill()))

const OP_MSG = 2013

// the command documents (section kind 0) of the complete messages in `data`; the rest is returned
const commandsIn = (data: Buffer, out: Document[]): Buffer => {
  let at = 0
  while (data.length - at >= 4 && data.length - at >= data.readInt32LE(at)) {
    const length = data.readInt32LE(at)
    if (data.readInt32LE(at + 12) === OP_MSG) {
      // header (16) and flagBits (4), then sections: kind 0 a document, kind 1 a sized sequence
      for (let s = at + 20; s < at + length - 3; ) {
        const kind = data[s]!
        const size = data.readInt32LE(s + 1)
        if (kind === 0) out.push(BSON.deserialize(data.subarray(s + 1, s + 1 + size)))
        s += 1 + size
      }
    }
    at += length
  }
  return data.subarray(at)
}

t.test('every write ship sends asks for a journaled write concern (j: true), also with w in the URL', async (t) => {
  const address = mongodbAddress(t)
  if (!address) return
  const [host, port] = address.split(':')
  const commands: Document[] = []
  const sockets = new Set<Socket>()
  const proxy = createServer((client) => {
    const server = connect(Number(port), host)
    sockets.add(client).add(server)
    let pending = Buffer.alloc(0)
    client.on('data', (d: Buffer) => {
      pending = commandsIn(Buffer.concat([pending, d]), commands)
      server.write(d)
    })
    server.on('data', (d: Buffer) => client.write(d))
    for (const [a, b] of [
      [client, server],
      [server, client],
    ] as const) {
      a.on('error', () => b.destroy())
      a.on('close', () => b.destroy())
    }
  })
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
  t.teardown(() => {
    for (const s of sockets) s.destroy()
    proxy.close()
  })
  const via = `127.0.0.1:${(proxy.address() as AddressInfo).port}`
  const dir = t.testdir()
  const db = dbName('journal')
  const lines: string[] = []
  for (let i = 1; i <= 40; i++)
    lines.push(
      JSON.stringify({ body: JSON.stringify({ _id: `d${i % 10}`, n: i }), headers: { op: i % 2 ? 'insert' : 'upsert' }, src: 'j', seq: i }),
    )
  writeFileSync(`${dir}/in.ndjson`, lines.join('\n') + '\n')
  for (const query of ['', '?w=majority']) {
    const ship = run(`${tsf} ship 'mongodb://${via}/${db}/c${query}' --batch 7 < in.ndjson`, dir)
    cleanup(t, ship)
    t.equal(await ship.exited, 0, ship.stderr())
  }
  const writes = commands.filter((c) => 'insert' in c || 'update' in c)
  t.ok(
    writes.some((c) => 'insert' in c),
    'inserts seen',
  )
  t.ok(
    writes.some((c) => 'update' in c),
    'updates seen',
  )
  t.same(
    writes.filter((c) => c.writeConcern?.j !== true).map((c) => JSON.stringify(c.writeConcern ?? null)),
    [],
    'none without j: true',
  )
  t.ok(
    writes.some((c) => c.writeConcern?.w === 'majority' && c.writeConcern?.j === true),
    "the URL's w=majority goes along, with j: true",
  )
  t.ok(
    writes.every((c) => c.ordered === false),
    'unordered bulk writes',
  )
  t.equal(await countDocs(address, db, 'c'), 10)
})
