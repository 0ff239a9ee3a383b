// One file read through FileTail, in chunks of every awkward size: the heads are exactly what
// core sourceEventHead() makes of each line (the block fast path included), with exact offsets.
import t from 'tap'
import { openSync, closeSync, writeFileSync } from 'node:fs'
import { encodeEnvelope, sourceEventHead } from '../../../src/core/event.js'
import { headStrings } from '../../../src/core/head-block.js'
import { FileTail, type ReadConfig } from '../../../src/sources/tail/file-tail.js'
import type { FileEntry } from '../../../src/sources/tail/checkpoint-store.js'

const entry = (path: string): FileEntry => ({
  dev: 0,
  ino: 0,
  headLen: 0,
  headHash: '',
  markLen: 0,
  markHash: '',
  src: 'agent.rand',
  seq: 0,
  pos: 0,
  path,
  lastPath: path,
})
const config: ReadConfig = { maxLine: 70, truncate: false, host: 'h', headers: { k: 'v' } }

// What the per-line path makes of `content` (lines up to maxLine; the last one unterminated).
const expected = (content: Buffer, path: string, ts: number): string[] => {
  const envelope = encodeEnvelope({ host: 'h', headers: { k: 'v', file: path } })
  const out: string[] = []
  let start = 0
  let seq = 0
  for (;;) {
    const nl = content.indexOf(10, start)
    const end = nl === -1 ? content.length : nl
    if (nl === -1 && end === start) break
    out.push(sourceEventHead(content.subarray(start, end), { ts, src: 'agent.rand', seq: ++seq, pos: nl === -1 ? end : end + 1 }, envelope))
    if (nl === -1) break
    start = nl + 1
  }
  return out
}

const readAll = (path: string, chunk: number, cfg = config): string[] => {
  const fd = openSync(path, 'r')
  const tail = new FileTail(fd, entry(path), path, cfg)
  const heads: string[] = []
  const buf = Buffer.alloc(chunk)
  for (let i = 0; i < 100_000; i++) {
    for (const g of tail.read(buf, chunk)) heads.push(...headStrings(g.heads))
    if (tail.atEof) break
  }
  for (const g of tail.flush(true)) heads.push(...headStrings(g.heads))
  closeSync(fd)
  return heads
}

const withoutTs = (heads: string[]): string[] => heads.map((h) => h.replace(/"ts":\d+/, '"ts":0'))

t.test('the block fast path and the per-line path make the same heads, whatever the chunk size', async (t) => {
  const dir = t.testdir()
  const lines = [
    '127.0.0.1 - - [22/Nov/2026:00:00:00 +0000] "GET / HTTP/1.1" 200 5',
    'back\\slash and "quotes" and \ttab and \u0001 control',
    'plain',
    '',
    'ünïcödé line',
    'x'.repeat(70),
    '\u007f del',
    '{"json":"inside \\"escaped\\""}',
  ]
  const content = Buffer.concat([Buffer.from(lines.join('\n') + '\n'), Buffer.from([0xc3, 0x28, 0x0a]), Buffer.from('unterminated')])
  writeFileSync(`${dir}/f.log`, content)
  const want = withoutTs(expected(content, `${dir}/f.log`, 0))
  for (const chunk of [1, 2, 3, 7, 16, 69, 70, 71, 100, 4096]) {
    t.same(withoutTs(readAll(`${dir}/f.log`, chunk)), want, `chunks of ${chunk} bytes`)
  }
})

t.test('a block of 5,000 short lines is written in groups with their own checkpoints', async (t) => {
  const dir = t.testdir()
  let s = ''
  for (let i = 0; i < 5000; i++) s += `l${i}\n`
  writeFileSync(`${dir}/g.log`, s)
  const fd = openSync(`${dir}/g.log`, 'r')
  const tail = new FileTail(fd, entry(`${dir}/g.log`), `${dir}/g.log`, config)
  const groups = tail.read(Buffer.alloc(1 << 20), 1 << 20)
  closeSync(fd)
  t.same(
    groups.map((g) => g.heads.length),
    [1024, 1024, 1024, 1024, 904],
  )
  t.same(
    groups.map((g) => g.seq),
    [1024, 2048, 3072, 4096, 5000],
  )
  t.equal(groups[0]!.pos, s.indexOf('l1024\n'), 'each group checkpoints just past its last line')
  t.equal(groups.at(-1)!.pos, s.length)
})

t.test('plain ASCII lines take the byte block path and make exactly the per-line heads', async (t) => {
  const dir = t.testdir()
  let s = ''
  for (let i = 0; i < 3000; i++)
    s += i % 7 === 0 ? `GET /item/${i} 200 ${'x'.repeat(i % 60)}\n` : i % 11 === 0 ? '\n' : `line ${i} ~!@#$%^&*()_+{}[]|:;'<>,.?/\n`
  writeFileSync(`${dir}/a.log`, s)
  const content = Buffer.from(s)
  const want = withoutTs(expected(content, `${dir}/a.log`, 0))
  const fd = openSync(`${dir}/a.log`, 'r')
  const tail = new FileTail(fd, entry(`${dir}/a.log`), `${dir}/a.log`, { ...config, maxLine: 1000 })
  const groups = tail.read(Buffer.alloc(1 << 20), 1 << 20, 65536)
  closeSync(fd)
  t.ok(
    groups.some((g) => !Array.isArray(g.heads)),
    'rendered as byte blocks',
  )
  t.same(withoutTs(groups.flatMap((g) => headStrings(g.heads))), want)
  t.equal(groups.at(-1)!.pos, content.length)
  t.equal(groups.at(-1)!.seq, 3000)
})

t.test('hostile lines (NUL, controls, U+2028, 4-byte UTF-8, invalid bytes) make the per-line heads at any chunk size', async (t) => {
  const dir = t.testdir()
  const pieces = ['😀', '\u2028', '\u0000', '\u001f', '"', '\\', 'é', '✓', 'abcdefghijklmnop', ' ', '\t', '\u007f']
  let seed = 7
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed % n
  }
  const lines: Buffer[] = []
  for (let i = 0; i < 400; i++) {
    let s = ''
    for (let k = rand(25); k > 0; k--) s += pieces[rand(pieces.length)]
    lines.push(i % 37 === 5 ? Buffer.concat([Buffer.from(s), Buffer.from([0xf0, 0x9f, 0x98])]) : Buffer.from(s))
  }
  const content = Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')]))
  writeFileSync(`${dir}/h.log`, content)
  const want = withoutTs(expected(content, `${dir}/h.log`, 0))
  for (const chunk of [1, 3, 5, 17, 4096, 65536]) {
    t.same(withoutTs(readAll(`${dir}/h.log`, chunk, { ...config, maxLine: 4000 })), want, `chunks of ${chunk} bytes`)
  }
})
