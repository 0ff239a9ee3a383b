// InputOptions.linesBlocks: the blocks a reader frames 'spans' batches into come from the stage
// (roll: chunks of its WebAssembly memory, read there without a copy), are reused once every batch
// cut from them is released, and are never let go; a batch larger than a block gets its own.
import { PassThrough } from 'node:stream'
import t from 'tap'
import { EventInput, releaseEvents, type InputBatch } from '../../../src/core/link/reader.js'

const BLOCK = 64 * 1024

const line = (i: number): string => `{"body":"line ${i} ${'x'.repeat(i % 300)}","seq":${i}}\n`

t.test('batches lie in the given blocks, which are reused; the events are the lines as written', async (t) => {
  const given: Buffer[] = []
  const linesBlocks = (size: number): Buffer | undefined => {
    t.equal(size, BLOCK, 'asked for blocks of linesBlock bytes')
    if (given.length === 3) return undefined
    const block = Buffer.alloc(size)
    given.push(block)
    return block
  }
  const stream = new PassThrough()
  const input = new EventInput({ stream, lines: 'spans', linesBlock: BLOCK, linesBlocks })
  const lines: string[] = []
  let text = ''
  for (let i = 0; i < 20_000; i++) text += lines[i] = line(i)
  // a line longer than a block: its batch cannot lie in one
  const long = `{"body":"${'y'.repeat(3 * BLOCK)}"}\n`
  text += long
  ;(async () => {
    const bytes = Buffer.from(text)
    for (let at = 0; at < bytes.length; at += 5000) {
      stream.write(bytes.subarray(at, at + 5000))
      await new Promise((resolve) => setImmediate(resolve))
    }
    stream.end()
  })()
  const seen: string[] = []
  let inGiven = 0
  let batches = 0
  for await (const batch of input.batches() as AsyncGenerator<InputBatch>) {
    batches++
    const owner = given.find(
      (block) =>
        batch.lines!.buffer === block.buffer &&
        batch.lines!.byteOffset >= block.byteOffset &&
        batch.lines!.byteOffset < block.byteOffset + block.length,
    )
    if (owner) inGiven++
    for (let k = 0; k < batch.count!; k++) seen.push(`${batch.lines!.toString('utf8', batch.spans![2 * k], batch.spans![2 * k + 1])}}\n`)
    releaseEvents(batch)
    input.done(batch)
  }
  input.close()
  t.same(seen, [...lines, long], 'every line, in order, whole')
  t.ok(given.length >= 1 && given.length <= 3, `framed into ${given.length} given block(s), reused`)
  t.ok(inGiven >= batches - 2, `${inGiven} of ${batches} batches in given blocks`)
})

t.test("a released batch's spans go back to be reused: no fresh array per batch", async (t) => {
  const stream = new PassThrough()
  const input = new EventInput({ stream, lines: 'spans', linesBlock: BLOCK })
  const lines: string[] = []
  let text = ''
  for (let i = 0; i < 20_000; i++) text += lines[i] = line(i)
  ;(async () => {
    const bytes = Buffer.from(text)
    for (let at = 0; at < bytes.length; at += 5000) {
      stream.write(bytes.subarray(at, at + 5000))
      await new Promise((resolve) => setImmediate(resolve))
    }
    stream.end()
  })()
  const seen: string[] = []
  const arrays = new Set<ArrayBufferLike>()
  let batches = 0
  let kept = 0 // released batches that still hold spans
  for await (const batch of input.batches() as AsyncGenerator<InputBatch>) {
    batches++
    arrays.add(batch.spans!.buffer)
    for (let k = 0; k < batch.count!; k++) seen.push(`${batch.lines!.toString('utf8', batch.spans![2 * k], batch.spans![2 * k + 1])}}\n`)
    releaseEvents(batch)
    if (batch.spans) kept++
    input.done(batch)
  }
  input.close()
  t.same(seen, lines, 'every line, in order, whole')
  t.ok(batches > 20, `${batches} batches`)
  t.ok(arrays.size <= 2, `their spans in ${arrays.size} array(s)`)
  t.equal(kept, 0, 'a released batch holds no spans (they are a later batch’s)')
})
