// Hostile bytes against syslog framing (octet counting and LF) and RFC 3164/5424 parsing (issue
// #14): random and structure-aware inputs from a fixed seed, in random chunkings. Nothing throws,
// memory stays within maxFrame, and every frame parses to a record with a time and a body.
import t from 'tap'
import { fuzz, mutations } from '../../fixtures/fuzz.js'
import { SyslogTcpFramer } from '../../../src/sources/syslog/framing.js'
import { parseSyslog } from '../../../src/sources/syslog/parse.js'

const samples = [
  '<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 [exampleSDID@32473 iut="3" eventSource="Application"] BOM\'su root\' failed',
  "<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - - %% It's time to make the do-nuts.",
  '<13>Feb  5 17:32:18 10.0.0.99 myapp[123]: Use the BFG!',
  "<0>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
  '<191>1 - - - - - -',
]

t.test('syslog framing: any bytes, any chunking: frames within maxFrame, no throw', async (t) => {
  await fuzz(t, 'syslog-framing', { cases: 1500 }, (rng) => {
    const msgs = Array.from({ length: rng.int(1, 4) }, () => rng.pick(samples))
    const valid = Buffer.from(msgs.map((m) => (rng.bool() ? `${Buffer.byteLength(m)} ${m}` : `${m}\n`)).join(''))
    for (const input of [valid, rng.bytes(rng.int(0, 400)), ...mutations(rng, valid, 3)]) {
      const maxFrame = rng.pick([16, 100, 64 * 1024])
      const framer = new SyslogTcpFramer({ maxFrame })
      const frames = []
      for (let at = 0; at < input.length; ) {
        const step = rng.int(1, 80)
        frames.push(...framer.push(input.subarray(at, at + step)))
        at += step
      }
      frames.push(...framer.end())
      for (const f of frames) if (f.msg.length > maxFrame) throw new Error(`frame of ${f.msg.length} bytes past maxFrame ${maxFrame}`)
    }
  })
})

t.test('RFC 3164/5424 parsing: any message gives a record with a finite time and a body', async (t) => {
  await fuzz(t, 'syslog-parse', { cases: 3000 }, (rng) => {
    const valid = rng.pick(samples)
    for (const input of [
      Buffer.from(valid),
      rng.bytes(rng.int(0, 200)),
      Buffer.from(rng.nastyString(rng.int(0, 60))),
      ...mutations(rng, valid, 4),
    ]) {
      const r = parseSyslog(input, { receivedAt: 1_700_000_000_000 })
      if (!Number.isFinite(r.ts)) throw new Error(`ts ${r.ts} for ${JSON.stringify(input.toString('latin1'))}`)
      if (!Buffer.isBuffer(r.body)) throw new Error('no body')
      for (const [k, v] of Object.entries(r.headers)) if (typeof v !== 'string') throw new Error(`header ${k} is not a string`)
    }
  })
})
