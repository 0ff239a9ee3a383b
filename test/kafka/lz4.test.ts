// LZ4 frames as the reference lz4 tool writes them (independent and linked blocks, block
// checksums, content size, uncompressed blocks, several frames) decode to the original bytes;
// broken frames are one "LZ4: ..." error, never a hang or another exception.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { lz4Decompress } from '../../src/kafka/lz4.js'
import { fuzz, mutations } from '../fixtures/fuzz.js'

const lz4Tool = spawnSync('lz4', ['--version'], { encoding: 'utf8' })
const haveTool = !lz4Tool.error

const compress = (file: string, flags: string[]): Buffer => {
  const r = spawnSync('lz4', [...flags, '-c', file], { maxBuffer: 64 * 1024 * 1024 })
  if (r.status !== 0) throw new Error(`lz4 ${flags.join(' ')}: ${r.stderr}`)
  return r.stdout
}

// log-like text (compresses well, matches near and far), a run (overlapping matches) and random
// bytes (stored as uncompressed blocks): 300 KB, so 64 KB blocks make several
const sample = (): Buffer => {
  const lines: string[] = []
  for (let i = 0; i < 2500; i++)
    lines.push(`127.0.0.1 - - [02/Dec/2026:14:${String(i % 60).padStart(2, '0')}:00 +0000] "GET /item/${i % 97} HTTP/1.1" 200 ${i * 7}\n`)
  return Buffer.concat([
    Buffer.from(lines.join('')),
    Buffer.alloc(5000, 'a'),
    randomBytes(70_000),
    Buffer.from(lines.slice(0, 300).join('')),
  ])
}

t.test(
  'frames of the lz4 tool decode to the original bytes',
  { skip: !haveTool && process.env.CI !== 'true' ? 'the lz4 tool is not installed' : false },
  async (t) => {
    const dir = t.testdir()
    const data = sample()
    writeFileSync(`${dir}/in`, data)
    for (const flags of [
      [],
      ['-B4'],
      ['-B4', '-BD'],
      ['-B4', '-BX'],
      ['-B4', '-BD', '-BX', '--content-size'],
      ['-B4', '--no-frame-crc'],
      ['-9', '-B5', '-BD'],
      ['-1', '-B7'],
    ]) {
      const frame = compress(`${dir}/in`, flags)
      t.ok(frame.length < data.length, `lz4 ${flags.join(' ')} compressed`)
      t.ok(lz4Decompress(frame).equals(data), `lz4 ${flags.join(' ')}: the same bytes back`)
    }
    const two = Buffer.concat([compress(`${dir}/in`, ['-B4']), compress(`${dir}/in`, ['-B4', '-BD'])])
    t.ok(lz4Decompress(two).equals(Buffer.concat([data, data])), 'two frames one after the other')
    writeFileSync(`${dir}/empty`, '')
    t.equal(lz4Decompress(compress(`${dir}/empty`, [])).length, 0, 'an empty frame')
  },
)

t.test('broken frames: an LZ4 error, no other exception', async (t) => {
  t.throws(() => lz4Decompress(Buffer.from('not lz4 at all')), /^LZ4: not an LZ4 frame/)
  t.throws(() => lz4Decompress(Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x40])), /^LZ4: frame ends early/)
  // a block whose match points before the start of the output
  const header = Buffer.from([0x04, 0x22, 0x4d, 0x18, 0x60, 0x40, 0x82])
  const block = Buffer.from([0x14, 0x61, 0x09, 0x00, 0x00])
  const size = Buffer.alloc(4)
  size.writeUInt32LE(block.length)
  t.throws(() => lz4Decompress(Buffer.concat([header, size, block, Buffer.alloc(4)])), /^LZ4: match offset 9 outside the 1 bytes decoded/)
  if (!haveTool) return
  const dir = t.testdir()
  writeFileSync(`${dir}/in`, sample().subarray(0, 100_000))
  const valid = compress(`${dir}/in`, ['-B4', '-BD'])
  await fuzz(t, 'lz4 frames mutated', { cases: 400 }, (rng) => {
    for (const frame of mutations(rng, valid)) {
      try {
        lz4Decompress(frame)
      } catch (e) {
        if (!(e instanceof Error) || !e.message.startsWith('LZ4: ')) throw e
      }
    }
  })
})
