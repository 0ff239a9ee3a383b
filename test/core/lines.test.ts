import t from 'tap'
import { LineSplitter, type LinePiece } from '../../src/core/lines.js'

const split = (chunks: (string | Buffer)[], maxLine: number, truncate = false) => {
  let oversize = 0
  const s = new LineSplitter({ maxLine, truncate, onOversize: () => oversize++ })
  const out: LinePiece[] = []
  for (const c of chunks) s.push(Buffer.isBuffer(c) ? c : Buffer.from(c), (p) => out.push(p))
  const rest = s.rest()
  return { out: out.map((p) => ({ ...p, bytes: p.bytes.toString() })), rest: rest?.toString(), oversize }
}

t.test('whole lines, lines across chunks, and an unterminated rest', async (t) => {
  const r = split(['a\nbb', 'b\nc', 'cc\nd'], 100)
  t.same(r.out, [{ bytes: 'a' }, { bytes: 'bbb' }, { bytes: 'ccc' }])
  t.equal(r.rest, 'd')
  t.same(split(['\n\n'], 10).out, [{ bytes: '' }, { bytes: '' }], 'empty lines are lines')
})

t.test('an oversize line is cut into cont pieces that join back exactly', async (t) => {
  const line = 'x'.repeat(25)
  const r = split([line.slice(0, 7), line.slice(7) + '\nnext\n'], 10)
  t.same(r.out.map((p) => p.bytes).slice(0, 3).join(''), line)
  t.same(r.out.map((p) => Boolean(p.cont)), [true, true, false, false])
  t.equal(r.out[3]!.bytes, 'next')
  t.equal(r.oversize, 1, 'counted once per line')
})

t.test('with truncate, the rest of an oversize line is dropped and flagged', async (t) => {
  const r = split(['y'.repeat(30) + '\nok\n'], 10, true)
  t.same(r.out, [{ bytes: 'y'.repeat(10), truncated: true }, { bytes: 'ok' }])
})

t.test('a cut never splits a UTF-8 character', async (t) => {
  const line = 'aé'.repeat(10) // 'é' is 2 bytes
  const s = new LineSplitter({ maxLine: 4 })
  const pieces: Buffer[] = []
  s.push(Buffer.from(line + '\n'), (p) => pieces.push(p.bytes))
  for (const p of pieces) t.equal(Buffer.from(p.toString('utf8')).equals(p), true, 'each piece is valid UTF-8')
  t.equal(Buffer.concat(pieces).toString(), line)
})

t.test('memory stays bounded for a 10 MB line without a newline', async (t) => {
  const s = new LineSplitter({ maxLine: 1024 * 1024 })
  let pieces = 0
  const chunk = Buffer.alloc(64 * 1024, 0x41)
  for (let i = 0; i < 160; i++) {
    s.push(chunk, () => pieces++)
    t.ok(s.buffered <= 1024 * 1024) || t.bailout()
  }
  t.equal(pieces, 9)
})
