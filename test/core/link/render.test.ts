import t from 'tap'
import { RenderBuffer } from '../../../src/core/link/render.js'

const prefix = ',"_ack":"AAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBB.'

// renders n events of the given heads and returns the lines written
const render = (withCursor: boolean, heads: (i: number) => string, n: number): string[] => {
  const out: Buffer[] = []
  const buffer: RenderBuffer = new RenderBuffer(prefix, withCursor, () => {
    const bytes = buffer.chunkBytes
    out.push(Buffer.from(buffer.take().subarray(0, bytes)))
  })
  for (let i = 0; i < n; i += 100) {
    const batch: string[] = []
    for (let k = i; k < Math.min(n, i + 100); k++) batch.push(heads(k))
    buffer.heads(batch)
  }
  const rest = buffer.chunkBytes
  out.push(Buffer.from(buffer.take().subarray(0, rest)))
  const text = Buffer.concat(out).toString()
  t.equal(Buffer.byteLength(text), buffer.bytesOut, 'bytesOut counts every byte rendered')
  return text.split('\n').slice(0, -1)
}

t.test('every line ends with its cursor, positions 1, 2, 3 … across every carry (9 → 10, 999 → 1000, …)', async (t) => {
  const n = 12_345
  const lines = render(true, (i) => `{"body":"line ${i}"`, n)
  t.equal(lines.length, n)
  let wrong = 0
  for (let i = 0; i < n; i++) if (lines[i] !== `{"body":"line ${i}"${prefix}${i + 1}"}`) wrong++
  t.equal(wrong, 0, 'each line is its head, the cursor with its position, "}')
  t.same(JSON.parse(lines[9_999]!), { body: 'line 9999', _ack: 'AAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBB.10000' })
})

t.test('without a cursor (a terminal) a line is its head and "}"', async (t) => {
  const lines = render(false, (i) => `{"body":"é ${i}"`, 250)
  t.equal(lines.length, 250)
  t.equal(lines[0], '{"body":"é 0"}')
  t.equal(lines[249], '{"body":"é 249"}')
})
