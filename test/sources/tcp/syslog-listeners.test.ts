import t from 'tap'
import { bodyFields } from '../../../src/core/event.js'
import { encodeHeaders, quote } from '../../../src/core/json-string.js'
import { parseSyslog } from '../../../src/sources/syslog/parse.js'
import { syslogHeads } from '../../../src/sources/tcp/syslog-listeners.js'
import { FrameList } from '../../../src/sources/syslog/framing.js'
import { SyslogBlock } from '../../../src/sources/syslog/heads.js'
import { fuzz, mutations } from '../../fixtures/fuzz.js'

// syslogHeads writes event heads as bytes; they must be exactly the heads the string path
// (bodyFields, quote, encodeHeaders: JSON.stringify's escaping) makes, for any message.
const stringHead = (msg: Buffer, truncated: boolean, peer: string, receivedAt: number): string => {
  const record = parseSyslog(msg, { receivedAt })
  const head = `{${bodyFields(record.body)},"ts":${record.ts},"host":${quote(record.headers.host ?? peer)},"headers":${encodeHeaders(record.headers)}`
  return truncated ? `${head},"truncated":true` : head
}

const valid = [
  '<134>1 2026-01-01T00:00:00.000Z bench access - - - 1.2.3.4 - - [01/Jan/2026] "GET / HTTP/1.1" 200 5 "-" "curl"',
  '<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] \ufeffAn application event log entry\twith a tab',
  "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
  '<13>Feb  5 17:32:18 10.0.0.99 Use the BFG! \\ "quoted" \u0001 é ☃ 😀',
  'no priority at all',
]

t.test('byte heads are the string heads, for valid, hostile and non-UTF-8 messages', async (t) => {
  const frames = valid.map((m, i) => ({ msg: Buffer.from(m), truncated: i === 1 }))
  const heads = syslogHeads(frames, '10.1.2.3', 1767225600000)
  t.equal(heads.length, frames.length)
  for (let i = 0; i < frames.length; i++) {
    t.equal(
      heads[i]!.toString('hex'),
      Buffer.from(stringHead(frames[i]!.msg, frames[i]!.truncated, '10.1.2.3', 1767225600000)).toString('hex'),
      valid[i],
    )
    JSON.parse(`${heads[i]!.toString()}}`)
  }
  await fuzz(t, 'syslog byte heads equal string heads', { cases: 3000 }, (rng) => {
    const msgs = [rng.bytes(rng.int(0, 120)), ...mutations(rng, rng.pick(valid))]
    const fs = msgs.map((msg) => ({ msg, truncated: rng.bool(0.1) }))
    const got = syslogHeads(fs, 'peer', 1767225600000)
    for (let i = 0; i < fs.length; i++) {
      const want = Buffer.from(stringHead(fs[i]!.msg, fs[i]!.truncated, 'peer', 1767225600000))
      if (!got[i]!.equals(want)) throw new Error(`${got[i]!.toString()} != ${want.toString()}`)
    }
  })
})

// The listener renders frames where they lie in the read buffer (SyslogBlock over a FrameList):
// the bytes around a frame (the next frame, its LF, digits, a zone sign) must change nothing.
t.test('frames inside a larger buffer give the heads of the frames alone', async (t) => {
  const around = ['', ' ', '\n', '\r\n', '+05:00 x', '1 ', ':00', '"]', '\u00ff\u00fe', '12345', 'Z ']
  await fuzz(t, 'syslog block heads equal string heads', { cases: 3000 }, (rng) => {
    const msgs = [rng.bytes(rng.int(0, 120)), ...mutations(rng, rng.pick(valid)), Buffer.from(rng.pick(valid))]
    const list = new FrameList()
    const truncated: boolean[] = []
    for (const msg of msgs) {
      const before = Buffer.from(rng.pick(around), 'latin1')
      const after = rng.bool() ? Buffer.from(rng.pick(around), 'latin1') : rng.bytes(rng.int(0, 8))
      const buf = Buffer.concat([before, msg, after])
      const cut = rng.bool(0.1)
      truncated.push(cut)
      list.add(buf, before.length, before.length + msg.length, cut ? 1 : 0)
    }
    const block = new SyslogBlock('peer').of(list, 1767225600000)
    const out = Buffer.alloc(1 << 16)
    let at = rng.int(0, 3)
    for (let i = 0; i < block.length; i++) {
      const start = at
      const size = block.size(i)
      at = block.render(i, out, at)
      if (at - start > size) throw new Error(`head of ${at - start} bytes past its size ${size}`)
      const want = Buffer.from(stringHead(msgs[i]!, truncated[i]!, 'peer', 1767225600000))
      if (!out.subarray(start, at).equals(want)) throw new Error(`${out.toString('utf8', start, at)} != ${want.toString()}`)
    }
  })
})

// A sender's messages mostly share their header: the block reuses the last header's fields and
// everything after the body. Runs of messages with the same, nearly the same and other headers
// (a header that ends one field early, a BOM after it, a message that ends inside it, a CR or LF
// at its end, a lying flag), in one ASCII read and in others, into the escaper's own memory:
// every head must be the string head.
t.test('messages that share their header bytes give the heads of each alone', async (t) => {
  const headers = [
    '<134>1 2026-01-01T00:00:00.000Z bench access - - - ',
    '<134>1 2026-01-01T00:00:00.000Z bench access - - ',
    '<134>1 2026-01-01T00:00:00.000Z bench access - -',
    '<134>1 2026-01-01T00:00:00.000Z bench access - - -',
    '<134>1 2026-01-01T00:00:00.001Z bench access 42 ID7 - ',
    '<134>1 2026-01-01T00:00:00.000 bench access - - - ',
    '<13>1 - host app - - - ',
    '<134>1 2026-01-01T00:00:00.000Z bench access - - [a b="c"] ',
    '<34>Oct 11 22:14:15 mymachine su: ',
    '<34>Oct 11 22:14:15 mymachine su[12]: ',
  ]
  const bodies = ['', 'x', '- 1.2.3.4 "q" \\', '\ufeffwith a BOM', '\ufeff', '\r', '\n', '\r\n', ' - - x', '[x y="z"] x']
  // (one slot of the escaper's memory for the whole test: there are few)
  const chunk = new SyslogBlock('peer').chunk(128 * 1024) ?? Buffer.alloc(128 * 1024)
  await fuzz(t, 'shared headers', { cases: 3000 }, (rng) => {
    const ascii = rng.bool()
    const msgs: Buffer[] = []
    // one read: the frames with what lies between them (a LF, a stray SP, nothing: octet counting,
    // the rest of the header a message ends inside)
    const gaps: Buffer[] = []
    for (let n = rng.int(1, 12); n > 0; n--) {
      const header = rng.pick(headers)
      const cut = rng.bool(0.2) ? rng.int(0, header.length) : header.length
      const body =
        cut < header.length
          ? ''
          : rng.bool(0.7)
            ? rng.pick(bodies)
            : Array.from({ length: rng.int(0, 20) }, () => rng.pick([...(ascii ? 'ab "\\\t-[]' : 'aé\u0000"\ufeff')])).join('')
      msgs.push(Buffer.from(header.slice(0, cut) + body))
      gaps.push(Buffer.from(cut < header.length && rng.bool() ? header.slice(cut) : rng.pick(['\n', ' ', '', ' - '])))
      if (rng.bool(0.3)) {
        msgs.push(msgs.at(-1)!)
        gaps.push(gaps.at(-1)!)
      }
    }
    const together = rng.bool()
    const buf = Buffer.concat(msgs.flatMap((m, i) => [m, gaps[i]!]))
    const list = new FrameList()
    const truncated: boolean[] = []
    let from = 0
    for (const [i, msg] of msgs.entries()) {
      const cut = rng.bool(0.2)
      truncated.push(cut)
      if (together) list.add(buf, from, from + msg.length, cut ? 1 : 0)
      else list.add(Buffer.from(msg), 0, msg.length, cut ? 1 : 0)
      from += msg.length + gaps[i]!.length
    }
    const block = new SyslogBlock('peer').of(list, 1767225600000)
    let at = rng.int(0, 3)
    for (let i = 0; i < block.length; i++) {
      const start = at
      const size = block.size(i)
      if (at + size > chunk.length) throw new Error('test chunk too small')
      at = block.render(i, chunk, at)
      if (at - start > size) throw new Error(`head of ${at - start} bytes past its size ${size}`)
      const want = Buffer.from(stringHead(msgs[i]!, truncated[i]!, 'peer', 1767225600000))
      if (!chunk.subarray(start, at).equals(want)) throw new Error(`${chunk.toString('utf8', start, at)} != ${want.toString()}`)
    }
  })
})
