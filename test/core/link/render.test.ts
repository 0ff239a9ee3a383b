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

t.test(
  'sparse cursors: only the last line of each chunk taken carries one, with its position; switched off, every line again',
  async (t) => {
    const chunks: string[][] = []
    const buffer: RenderBuffer = new RenderBuffer(prefix, true, () => {
      chunks.push(Buffer.from(buffer.take().subarray(0, buffer.taken)).toString().split('\n').slice(0, -1))
    })
    const heads = (from: number, n: number): string[] => Array.from({ length: n }, (_, k) => `{"body":"line ${from + k}"`)
    buffer.heads(heads(0, 10)) // dense
    buffer.setSparse(true)
    for (let i = 10; i < 20_010; i += 100) buffer.heads(heads(i, 100))
    buffer.setSparse(false)
    buffer.heads(heads(20_010, 5))
    if (buffer.chunkBytes) chunks.push(Buffer.from(buffer.take().subarray(0, buffer.taken)).toString().split('\n').slice(0, -1))
    const lines = chunks.flat()
    t.equal(lines.length, 20_015)
    t.equal(Buffer.byteLength(lines.join('\n') + '\n'), buffer.bytesOut, 'bytesOut counts every byte handed on')
    let wrong = 0
    let cursors = 0
    let position = 0
    for (const chunk of chunks) {
      for (let k = 0; k < chunk.length; k++) {
        const i = position++
        const dense = i < 10 || i >= 20_010
        const bare = `{"body":"line ${i}"}`
        const cursored = `{"body":"line ${i}"${prefix}${i + 1}"}`
        const want = dense || k === chunk.length - 1 ? cursored : bare
        if (chunk[k] !== want) wrong++
        if (want === cursored) cursors++
      }
    }
    t.equal(wrong, 0, 'bare lines between, each chunk ending with a cursor at its true position')
    t.ok(chunks.length >= 3 && cursors === 10 + 5 + chunks.length - 1, `a cursor per chunk (${chunks.length} chunks) while sparse`)
  },
)

t.test(
  "a collector's batch (BatchHeads) without cursors: its lines go in as runs, byte for byte what the heads one by one give",
  async (t) => {
    const { decodeBlock } = await import('../../../src/core/wire/batch.js')
    const long = `{"body":"${'x'.repeat(70 * 1024)}"}` // over 64 KiB: keeps its cursor when sparse
    const lines: string[] = []
    for (let i = 0; i < 3000; i++) {
      // a src moved into the sender's space (every 10th) is a head of its own, between runs
      lines.push(`{"body":"line ${i} ${'y'.repeat(i % 300)}"${i % 10 === 3 ? ',"src":"s"' : ''},"seq":${i}}`)
      if (i % 700 === 5) lines.push('plain text, not JSON')
      if (i % 900 === 7) lines.push('{"not":"an event"}')
      if (i % 1000 === 9) lines.push('') // an empty line: no event
      if (i === 1500) lines.push(long)
    }
    const payload = Buffer.from(`${lines.join('\n')}\n{"body":"last, no newline"}`)
    const options = { maxEvent: 1024 * 1024, srcPrefix: Buffer.from('agent/') }
    const strip = (s: string): string => s.replace(/,"_ack":"[^"]*"\}$/, '}')
    const renderAll = (sparse: boolean, withCursor: boolean, asBlock: boolean): string[][] => {
      const chunks: string[][] = []
      const buffer: RenderBuffer = new RenderBuffer(prefix, withCursor, () => {
        chunks.push(Buffer.from(buffer.take().subarray(0, buffer.taken)).toString().split('\n').slice(0, -1))
      })
      buffer.setSparse(sparse)
      // twice: a second batch goes on from the first's position
      for (let round = 0; round < 2; round++) {
        const block = decodeBlock(payload, options)
        buffer.heads(asBlock ? block : block.list())
      }
      if (buffer.chunkBytes) chunks.push(Buffer.from(buffer.take().subarray(0, buffer.taken)).toString().split('\n').slice(0, -1))
      t.equal(Buffer.byteLength(chunks.flat().join('\n') + '\n'), buffer.bytesOut, 'bytesOut counts every byte handed on')
      return chunks
    }
    t.ok(decodeBlock(payload, options).lineRun(0, 1 << 20, 64 * 1024) >= 3, 'the batch has runs of lines')
    const want = renderAll(false, true, false).flat()
    t.ok(want.length > 6000)
    for (const withCursor of [true, false]) {
      const chunks = renderAll(withCursor, withCursor, true)
      const got = chunks.flat()
      t.equal(got.length, want.length, 'as many lines')
      let wrong = 0
      for (let i = 0; i < got.length; i++) if (strip(got[i]!) !== strip(want[i]!)) wrong++
      t.equal(wrong, 0, `every line the same without its cursor (${withCursor ? 'sparse' : 'a terminal'})`)
      if (!withCursor) {
        t.notOk(
          got.some((l) => l.includes('"_ack"')),
          'a terminal gets no cursor',
        )
        continue
      }
      let bad = 0
      let position = 0
      for (const chunk of chunks) {
        for (let k = 0; k < chunk.length; k++) {
          position++
          const line = chunk[k]!
          const cursored = line === want[position - 1]
          const should = k === chunk.length - 1 || Buffer.byteLength(line) > 64 * 1024
          if (should ? !cursored : line.includes('"_ack"')) bad++
        }
      }
      t.equal(bad, 0, "each chunk's last line and every line over 64 KiB carry their cursor at their position, no other does")
      t.ok(chunks.length > 5, `several chunks (${chunks.length})`)
    }
  },
)

t.test('runs of lines (a channel block), sparse or without cursors: each line whole once, in order, cursors where due', async (t) => {
  // lengths from 1 byte to past a chunk, lines over 64 KiB among them (those keep their cursor)
  let seed = 7
  const rnd = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n
  const heads: string[] = []
  for (let i = 0; i < 6000; i++) {
    const kind = rnd(100)
    const len = kind < 2 ? 65_536 + rnd(100_000) : kind < 5 ? 20_000 + rnd(50_000) : kind < 20 ? rnd(8) : rnd(600)
    heads.push(`{"body":"${i} ${'x'.repeat(len)}"`)
  }
  for (const withCursor of [true, false]) {
    const chunks: string[][] = []
    const buffer: RenderBuffer = new RenderBuffer(prefix, withCursor, () => {
      chunks.push(Buffer.from(buffer.take().subarray(0, buffer.taken)).toString().split('\n').slice(0, -1))
    })
    buffer.setSparse(true)
    // runs of 1 to 400 lines, each "head\n"
    for (let i = 0; i < heads.length; ) {
      const k = 1 + rnd(400)
      buffer.lines(Buffer.from(heads.slice(i, i + k).join('\n') + '\n'))
      i += k
    }
    if (buffer.chunkBytes) chunks.push(Buffer.from(buffer.take().subarray(0, buffer.taken)).toString().split('\n').slice(0, -1))
    const lines = chunks.flat()
    t.equal(lines.length, heads.length, `every line once (cursors: ${withCursor})`)
    t.equal(buffer.position, heads.length)
    t.equal(Buffer.byteLength(lines.join('\n') + '\n'), buffer.bytesOut, 'bytesOut counts every byte handed on')
    let wrong = 0
    let i = 0
    for (const chunk of chunks) {
      for (let k = 0; k < chunk.length; k++, i++) {
        const cursored = `${heads[i]}${prefix}${i + 1}"}`
        const due = withCursor && (k === chunk.length - 1 || heads[i]!.length > 65_536)
        if (chunk[k] !== (due ? cursored : `${heads[i]}}`)) wrong++
      }
    }
    t.equal(wrong, 0, 'each line its head and "}", a cursor with its true position on the last of a chunk and on long lines')
    t.ok(chunks.length > 10)
  }
})

t.test(
  "sparse, a collector's batch is written as it lies: each write ends with its cursor, the same bytes, the block freed once written",
  async (t) => {
    const { decodeBlock } = await import('../../../src/core/wire/batch.js')
    const lines: string[] = []
    for (let i = 0; i < 20_000; i++) {
      lines.push(`{"body":"line ${i} ${'y'.repeat(i % 400)}"${i % 97 === 3 ? ',"src":"s"' : ''},"seq":${i}}`)
      if (i % 5000 === 5) lines.push('plain text, not JSON')
      if (i === 12_000) lines.push(`{"body":"${'x'.repeat(70 * 1024)}"}`) // over 64 KiB: keeps its cursor
    }
    const payload = Buffer.from(`${lines.join('\n')}\n`)
    const options = { maxEvent: 1024 * 1024, srcPrefix: Buffer.from('agent/') }
    const writes: { bytes: Buffer; direct: boolean }[] = []
    const pending: (() => void)[] = []
    const buffer: RenderBuffer = new RenderBuffer(
      prefix,
      true,
      () => writes.push({ bytes: Buffer.from(buffer.take().subarray(0, buffer.taken)), direct: false }),
      (run, cursor, written) => {
        // the run is a view of the payload: a copy here stands for the bytes the stream writes later
        t.equal(run.buffer, payload.buffer, 'written from the payload itself')
        writes.push({ bytes: Buffer.concat([run, cursor]), direct: true })
        pending.push(written)
      },
    )
    buffer.setSparse(true)
    const block = decodeBlock(payload, options)
    buffer.heads(block)
    let freed = false
    block.release(() => (freed = true))
    if (buffer.chunkBytes) writes.push({ bytes: Buffer.from(buffer.take().subarray(0, buffer.taken)), direct: false })
    t.notOk(freed, 'the block is not freed while a write made from it is pending')
    t.ok(pending.length >= 2, `runs written as they lie (${pending.length})`)
    for (const written of pending.slice(0, -1)) written()
    t.notOk(freed, 'nor while the last one is')
    pending.at(-1)!()
    t.ok(freed, 'freed once every one is done')

    const want = decodeBlock(payload, options)
      .list()
      .map((h) => `${h.toString()}}`)
    const got = writes.map((w) => w.bytes.toString().split('\n').slice(0, -1))
    t.equal(Buffer.byteLength(got.flat().join('\n') + '\n'), buffer.bytesOut, 'bytesOut counts every byte handed on')
    const strip = (s: string): string => s.replace(/,"_ack":"[^"]*"\}$/, '}')
    t.same(got.flat().map(strip), want, 'every line once, in order, byte for byte')
    let bad = 0
    let position = 0
    for (const write of got) {
      for (let k = 0; k < write.length; k++) {
        position++
        const line = write[k]!
        const should = k === write.length - 1 || Buffer.byteLength(line) > 64 * 1024
        if (should ? line !== `${strip(line).slice(0, -1)}${prefix}${position}"}` : line.includes('"_ack"')) bad++
      }
    }
    t.equal(bad, 0, "each write's last line and every line over 64 KiB carry their cursor at their position, no other does")
    t.ok(
      writes.filter((w) => w.direct).every((w) => w.bytes.length <= 1024 * 1024 + 64),
      'a write as it lies is at most 1 MiB under one cursor',
    )
  },
)
