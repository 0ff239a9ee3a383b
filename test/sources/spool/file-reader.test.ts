import { closeSync, mkdtempSync, openSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { encodeEnvelope, sourceEventHead } from '../../../src/core/event.js'
import { SpoolFileReader } from '../../../src/sources/spool/file-reader.js'
import type { SpoolEntry } from '../../../src/sources/spool/state.js'

// The block fast path must build exactly the heads the careful per-line path builds.
const lines = [
  'plain ascii line',
  'with "quotes" and \\backslashes\\ and a \ttab',
  'control \u0001 char',
  'utf-8 café ✓',
  '',
  'x'.repeat(300),
  'after the long one',
]

const readAll = (path: string, size: number, chunk: number, budget: number): string[] => {
  const entry: SpoolEntry = { path, dev: 0, ino: 0, size, mtimeMs: 0, headHash: '', src: 'S', seq: 0, pos: 0 }
  const fd = openSync(path, 'r')
  const reader = new SpoolFileReader(fd, entry, { maxLine: 1 << 20, truncate: false, host: 'h', headers: { k: 'v' } })
  const buf = Buffer.alloc(chunk)
  const heads: string[] = []
  for (;;) {
    const r = reader.read(buf, budget)
    heads.push(...r.heads.map(String))
    if (r.eof) break
  }
  heads.push(...reader.finish().heads.map(String))
  closeSync(fd)
  return heads.map((h) => h.replace(/"ts":\d+/, '"ts":0'))
}

t.test('the heads do not depend on how the file is cut into reads', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'tsf-spool-reader-'))
  const path = join(dir, 'f.log')
  const text = Buffer.from(lines.join('\n') + '\nlast without newline')
  writeFileSync(path, text)
  const envelope = encodeEnvelope({ host: 'h', headers: { k: 'v', file: path, basename: 'f.log' } })
  const expected: string[] = []
  let pos = 0
  const all = [...lines, 'last without newline']
  all.forEach((line, i) => {
    pos += Buffer.byteLength(line) + (i < lines.length ? 1 : 0)
    expected.push(sourceEventHead(Buffer.from(line), { ts: 0, src: 'S', seq: i + 1, pos }, envelope))
  })
  for (const [chunk, budget] of [
    [1 << 16, 1 << 20],
    [7, 7],
    [64, 13],
    [1, 1],
  ] as const) {
    t.same(readAll(path, text.length, chunk, budget), expected, `reads of ${chunk} bytes, budget ${budget}`)
  }
})
