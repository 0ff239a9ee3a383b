import t from 'tap'
import { SyslogTcpFramer, DEFAULT_MAX_FRAME, type SyslogFrame } from '../../../src/sources/syslog/framing.js'

type Shown = string | { msg: string; truncated: true }
const show = (frames: SyslogFrame[]): Shown[] =>
  frames.map((f) => (f.truncated ? { msg: f.msg.toString('latin1'), truncated: true as const } : f.msg.toString('latin1')))

// All frames of a stream pushed as the given chunks, plus end().
const frame = (chunks: (string | Buffer)[], maxFrame?: number): Shown[] => {
  const framer = new SyslogTcpFramer(maxFrame === undefined ? {} : { maxFrame })
  const out: SyslogFrame[] = []
  for (const c of chunks) out.push(...framer.push(typeof c === 'string' ? Buffer.from(c, 'latin1') : c))
  out.push(...framer.end())
  return show(out)
}

const octet = (m: string): string => `${Buffer.byteLength(m, 'latin1')} ${m}`

t.test('newline-delimited frames, LF and CRLF, blank lines skipped', async (t) => {
  t.same(frame(['<13>a\n<13>b\r\n\n\r\n<13>c\n']), ['<13>a', '<13>b', '<13>c'])
  t.same(frame(['<13>a\r', '\n<13>b\r\n']), ['<13>a', '<13>b'], 'CR and LF in different chunks')
  t.same(frame(['<13>a\n<13>unterminated']), ['<13>a', '<13>unterminated'], 'end() delivers an unterminated last line')
  t.same(frame(['<13>a\r']), ['<13>a'])
  t.same(frame(['\n\n\r\n']), [])
  t.same(frame([]), [])
})

t.test('octet-counted frames, multi-line bodies, several per chunk', async (t) => {
  const a = '<13>1 - h a - - - line1\nline2'
  const b = '<13>1 - h a - - - b'
  t.same(frame([octet(a) + octet(b)]), [a, b])
  t.same(frame([octet(a) + '\n' + octet(b) + '\r\n']), [a, b], 'a stray newline after a frame is skipped')
  t.same(frame(['0 ' + octet(b)]), [b], 'a zero count is an empty frame, skipped')
  const withLf = '<13>1 - h a - - - x\n'
  t.same(frame([octet(withLf)]), [withLf], 'a trailing LF inside the count belongs to the message')
})

t.test('both framings mixed on one connection, decided per frame', async (t) => {
  const m5424 = '<13>1 - h a - - - multi\nline'
  t.same(frame(['<13>first\n' + octet(m5424) + '<13>third\n' + octet('<13>4') + '<13>fifth\n']), [
    '<13>first',
    m5424,
    '<13>third',
    '<13>4',
    '<13>fifth',
  ])
})

t.test('every way of splitting a stream into chunks gives the same frames', async (t) => {
  const stream = Buffer.from(
    '<13>a\r\n' + octet('<13>b\nb') + 'junk\n' + '12 apples\n' + octet('<13>' + 'x'.repeat(30)) + '<13>last',
    'latin1',
  )
  const expected = ['<13>a', '<13>b\nb', 'junk', '12 apples', '<13>' + 'x'.repeat(30), '<13>last']
  t.same(frame([stream]), expected)
  let bad = 0
  for (let i = 0; i <= stream.length; i++) {
    for (let j = i; j <= stream.length; j++) {
      const got = frame([stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j)])
      if (JSON.stringify(got) !== JSON.stringify(expected)) {
        bad++
        if (bad < 5) t.same(got, expected, `split at ${i},${j}`)
      }
    }
  }
  t.equal(bad, 0, 'all two-cut splits agree')
  t.same(frame([...stream].map((b) => Buffer.from([b]))), expected, 'byte by byte')
})

t.test('garbage at the start of a frame is returned up to the next newline, then resync', async (t) => {
  t.same(frame(['junk junk\n<13>ok\n']), ['junk junk', '<13>ok'])
  t.same(frame(['12 apples are red\n<13>ok\n']), ['12 apples are red', '<13>ok'], 'a number and a space without < after it')
  t.same(frame(['123abc\n' + octet('<13>ok')]), ['123abc', '<13>ok'])
  t.same(frame(['12345678901234567890 <13>x\n<13>ok\n']), ['12345678901234567890 <13>x', '<13>ok'], 'too many digits for a count')
  t.same(frame(['\xff\xfe\x00binary\n<13>ok\n']), ['\xff\xfe\x00binary', '<13>ok'])
  t.same(frame(['42']), ['42'], 'a lone count at the end is garbage, not lost')
  t.same(frame(['42 ']), ['42 '])
})

t.test('oversize octet-counted frames: first maxFrame bytes, flagged, the rest skipped', async (t) => {
  const big = '<13>' + 'x'.repeat(96)
  const expected: Shown[] = [{ msg: big.slice(0, 10), truncated: true }, '<13>next', '<13>line']
  t.same(frame([octet(big) + octet('<13>next') + '<13>line\n'], 10), expected)
  const stream = Buffer.from(octet(big) + octet('<13>next') + '<13>line\n', 'latin1')
  t.same(
    frame(
      [...stream].map((b) => Buffer.from([b])),
      10,
    ),
    expected,
    'byte by byte',
  )
  t.same(frame([octet('<13>' + 'y'.repeat(6))], 10), ['<13>' + 'y'.repeat(6)], 'exactly maxFrame fits')
})

t.test('oversize lines: first maxFrame bytes, flagged, skipped to the next newline', async (t) => {
  const long = '<13>' + 'z'.repeat(50)
  const expected: Shown[] = [{ msg: long.slice(0, 10), truncated: true }, '<13>ok']
  t.same(frame([long + '\n<13>ok\n'], 10), expected)
  t.same(
    frame(
      [...Buffer.from(long + '\n<13>ok\n')].map((b) => Buffer.from([b])),
      10,
    ),
    expected,
    'byte by byte',
  )
  t.same(frame(['<13>456789\r\n'], 10), ['<13>456789'], 'exactly maxFrame before CRLF fits')
  t.same(frame(['<13>4567890\n'], 10), [{ msg: '<13>456789', truncated: true }])
  t.same(frame([long], 10), [{ msg: long.slice(0, 10), truncated: true }], 'unterminated and oversize')
})

t.test('a count over maxFrame is not trusted: that frame runs to its newline, what follows is framed as usual', async (t) => {
  const lying = '999999999 <13>first\n<13>second\n' + octet('<13>third') + '<13>fourth\n'
  const expected = ['<13>first', '<13>second', '<13>third', '<13>fourth']
  t.same(frame([lying]), expected)
  t.same(frame([...Buffer.from(lying)].map((b) => Buffer.from([b]))), expected, 'byte by byte')
  const framer = new SyslogTcpFramer()
  t.equal(framer.badCount, 0)
  framer.push(Buffer.from(lying))
  t.equal(framer.badCount, 999999999, 'the count is there to be reported')
  // cut at maxFrame: its tail is skipped to the newline, not to the count's end
  t.same(frame(['100000 <13>' + 'x'.repeat(50) + '\n<13>next\n'], 10), [{ msg: '<13>xxxxxx', truncated: true }, '<13>next'])
  // a count just over maxFrame and a message without newlines: skipped to the count's end, as before
  t.same(frame([octet('<13>' + 'y'.repeat(7)) + octet('<13>z')], 10), [{ msg: '<13>yyyyyy', truncated: true }, '<13>z'])
  t.same(frame(['99 <13>unterminated'], 50), ['<13>unterminated'], 'the connection ends inside it: a line, kept')
})

t.test('an honest count over maxFrame with newlines inside still ends where its count says', async (t) => {
  // a multi-line message (a stack trace) over maxFrame, then octet-counted frames with no newline
  const inside = '<13>aaaa\n' + 'b'.repeat(34)
  const input = `${inside.length} ${inside}` + octet('<13>two') + octet('<13>three') + octet('<13>four')
  const expected = ['<13>aaaa', { msg: 'b'.repeat(16), truncated: true }, '<13>two', '<13>three', '<13>four']
  t.same(frame([input], 16), expected)
  t.same(
    frame(
      [...Buffer.from(input)].map((b) => Buffer.from([b])),
      16,
    ),
    expected,
    'byte by byte',
  )
  // lines inside that fit, the last one ending exactly at the count, without a newline
  const lines = '<13>one\n<13>two\n<13>three'
  const after = frame([`${lines.length} ${lines}` + octet('<13>after')], 12)
  t.same(after, ['<13>one', '<13>two', '<13>three', '<13>after'])
})

t.test('end() inside an octet-counted frame delivers it flagged truncated', async (t) => {
  t.same(frame(['20 <13>short']), [{ msg: '<13>short', truncated: true }])
  const framer = new SyslogTcpFramer()
  t.same(framer.push(Buffer.from('20 <13>sh')), [])
  t.same(show(framer.end()), [{ msg: '<13>sh', truncated: true }])
  t.same(show(framer.push(Buffer.from('<13>after end\n'))), ['<13>after end'], 'the framer is reusable after end()')
})

t.test('memory stays bounded by maxFrame on endless input', async (t) => {
  const framer = new SyslogTcpFramer({ maxFrame: 1024 })
  const chunk = Buffer.alloc(64 * 1024, 0x61)
  chunk[0] = 0x3c
  let out = 0
  let peak = 0
  const internals = framer as unknown as { partsLen: number }
  for (let n = 0; n < 200; n++) {
    out += framer.push(chunk).length
    peak = Math.max(peak, internals.partsLen)
  }
  const endless = new SyslogTcpFramer({ maxFrame: 1024 })
  endless.push(Buffer.from('999999999 <'))
  for (let n = 0; n < 200; n++) {
    endless.push(chunk)
    peak = Math.max(peak, (endless as unknown as { partsLen: number }).partsLen)
  }
  t.ok(peak <= 1024, `peak buffered ${peak} bytes`)
  t.ok(out >= 1, 'the oversize line was delivered (cut)')
})

t.test('frames inside one chunk are views, not copies', async (t) => {
  const chunk = Buffer.from('<13>a\n' + octet('<13>b'))
  const frames = new SyslogTcpFramer().push(chunk)
  t.equal(frames.length, 2)
  for (const f of frames) t.equal(f.msg.buffer, chunk.buffer)
})

t.test('options', async (t) => {
  t.throws(() => new SyslogTcpFramer({ maxFrame: 0 }), RangeError)
  t.throws(() => new SyslogTcpFramer({ maxFrame: 1.5 }), RangeError)
  t.equal(DEFAULT_MAX_FRAME, 65536)
})
