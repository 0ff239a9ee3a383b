import t from 'tap'
import { execFileSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { MongoClient } from 'mongodb'
import { mongodbAddress } from '../../fixtures/servers.js'
import { run, tsf, type Proc } from '../../fixtures/tcp-helpers.js'
import { privateServerSkip, startPrivateServer } from './private-server.js'

const cleanup = (t: { teardown: (fn: () => void) => void }, ...procs: Proc[]): void => t.teardown(() => procs.forEach((p) => p.kill()))

t.test(
  "TLS: --tls-ca or the URL's tlsCAFile reach a TLS-only server; an unknown CA is named in one line, retried, nothing acked",
  { skip: privateServerSkip() },
  async (t) => {
    if (!mongodbAddress(t)) return
    const dir = t.testdir()
    const ssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: 'ignore' })
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=test-ca', '-keyout', 'ca.key', '-out', 'ca.pem')
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', 'server.key', '-out', 'server.csr')
    writeFileSync(`${dir}/server.ext`, 'subjectAltName=DNS:localhost,IP:127.0.0.1\n')
    ssl(
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-days',
      '1',
      '-extfile',
      'server.ext',
      '-out',
      'server.pem',
    )
    const server = await startPrivateServer(dir, { tls: { key: `${dir}/server.key`, cert: `${dir}/server.pem` } })
    t.teardown(() => server.stop())
    writeFileSync(`${dir}/a.ndjson`, '{"body":"{\\"n\\":1}","src":"s","seq":1}\n')
    writeFileSync(`${dir}/b.ndjson`, '{"body":"{\\"n\\":2}","src":"s","seq":2}\n')
    const byOption = run(`${tsf} ship mongodb://${server.address}/secure/c --tls-ca ca.pem < a.ndjson`, dir)
    const byUrl = run(`${tsf} ship 'mongodb://${server.address}/secure/c?tls=true&tlsCAFile=${dir}/ca.pem' < b.ndjson`, dir)
    const untrusted = run(
      `${tsf} ship 'mongodb://${server.address}/secure/c?tls=true' --connect-timeout 10s --shutdown-timeout 12s < a.ndjson`,
      dir,
    )
    const plain = run(`${tsf} ship mongodb://${server.address}/secure/c --connect-timeout 1s --shutdown-timeout 2s < a.ndjson`, dir)
    cleanup(t, byOption, byUrl, untrusted, plain)
    t.equal(await byOption.exited, 0, byOption.stderr())
    t.equal(await byUrl.exited, 0, byUrl.stderr())
    t.equal(await untrusted.exited, 1, untrusted.stderr())
    t.match(
      untrusted.stderr(),
      /\?tls=true: TLS: (unable to verify the first certificate|self[- ]signed certificate|unable to get local issuer certificate)[^\n]*; retrying, nothing is dropped/,
    )
    t.match(untrusted.stderr(), /error: delivery failed: 1 events unacked/)
    t.equal(await plain.exited, 1, plain.stderr())
    t.match(
      plain.stderr(),
      /secure\/c: (no server available|connection)[^\n]*; retrying, nothing is dropped/,
      'plain text to a TLS-only server: no answer, said in one line',
    )
    for (const p of [untrusted, plain]) t.notMatch(p.stderr(), /at .*\.js:\d+/, 'no stack trace')
    const c = new MongoClient(`mongodb://${server.address}/?tls=true&tlsCAFile=${dir}/ca.pem`)
    try {
      const got = await c.db('secure').collection('c').find().sort({ _id: 1 }).toArray()
      t.same(
        got,
        [
          { _id: 's:1', n: 1 },
          { _id: 's:2', n: 2 },
        ],
        'both written, over TLS',
      )
    } finally {
      await c.close()
    }
  },
)
