import t from 'tap'
import { Readable } from 'node:stream'
import { writeFileSync } from 'node:fs'
import { EventInput } from '../../../src/core/link/reader.js'
import { fixture, lines, sh, tmpdir, tsf } from '../../fixtures/procs.js'
import { fuzz, mutations } from '../../fixtures/fuzz.js'

const R = fixture('link-reader.mjs')
const cursor = 'AAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBB.'

// Feeds chunks to an EventInput over a stream, marks every batch done, and returns the heads.
// With `asLines`, batches come as NDJSON bytes (InputOptions.lines) and are cut into heads here;
// with 'spans', as the lines read and the place of each head in them (roll).
const readAll = async (
  chunks: Buffer[],
  maxLine = 1024 * 1024,
  asLines: boolean | 'spans' = false,
): Promise<{ heads: string[]; input: EventInput }> => {
  // one read per chunk, as a pipe delivers them
  const stream = Readable.from(chunks)
  const input = new EventInput({ stream, maxLine, lines: asLines === 'spans' ? 'spans' : asLines ? 'events' : undefined })
  const heads: string[] = []
  const reading = (async () => {
    for await (const batch of input.batches()) {
      if (asLines === 'spans') {
        const spans = batch.spans!
        if (spans.length !== 2 * batch.count!) throw new Error(`spans and count disagree: ${spans.length / 2} ${batch.count}`)
        for (let k = 0; k < spans.length; k += 2) heads.push(batch.lines!.toString('utf8', spans[k], spans[k + 1]))
      } else if (asLines) {
        const text = batch.lines!.toString()
        const each = text.split('\n').slice(0, -1)
        if (!text.endsWith('}\n') || each.length !== batch.count)
          throw new Error(`lines and count disagree: ${batch.count} ${JSON.stringify(text.slice(-80))}`)
        for (const line of each) heads.push(line.slice(0, -1))
      } else for (const h of batch.heads) heads.push(h.toString())
      input.done(batch)
    }
  })()
  await reading
  input.close()
  return { heads, input }
}

t.test('a chunk inside one long line holds back no ack: every batch read gets done', async (t) => {
  const long = Buffer.alloc(3 * 1024 * 1024, 0x78)
  const chunks: Buffer[] = [Buffer.from('first\n')]
  for (let at = 0; at < long.length; at += 65536) chunks.push(long.subarray(at, at + 65536))
  chunks.push(Buffer.from('\nafter\n'))
  const { heads, input } = await readAll(chunks, 4 * 1024 * 1024)
  t.equal(heads.length, 3)
  t.equal(JSON.parse(heads[1] + '}').body.length, long.length, 'the long line whole')
  t.equal(input.pending, 0, 'no batch left in flight (the acks after the long line go out)')
})

t.test('tsf tail | tsf reader: a 3 MiB line between the two does not stop the acks after it', async (t) => {
  const dir = tmpdir(t)
  let text = ''
  for (let i = 0; i < 100; i++) text += `before ${i}\n`
  text += 'x'.repeat(3 * 1024 * 1024) + '\n'
  for (let i = 0; i < 100; i++) text += `after ${i}\n`
  writeFileSync(`${dir}/app.log`, text)
  const r = await sh(t, `${tsf} tail --state st --shutdown-timeout 5s --max-line 4M app.log | ${R} out`, { cwd: dir }).done
  t.equal(r.code, 0, r.stderr)
  t.notMatch(r.stderr, /not acked|went away/)
  t.equal(lines(`${dir}/out`).length, 201)
})

// Every head a reader hands on closes into valid JSON: an object with a string body.
const validHead = (head: string): boolean => {
  const event = JSON.parse(head + '}')
  return event !== null && typeof event === 'object' && !Array.isArray(event) && typeof event.body === 'string'
}

t.test('hostile lines: every head the reader hands on is a valid event, nothing dropped', async (t) => {
  const deep = `{"ts":1,"body":"x","_ack":"${cursor}1","d":${'['.repeat(20000)}${']'.repeat(20000)}}`
  const samples = [
    '{}',
    '{,}',
    `{,"_ack":"${cursor}1"}`,
    `{"body":,"_ack":"${cursor}2"}`,
    `{"body":"a","_ack":"${cursor}3","_ack":"${cursor}4"}`,
    deep,
  ]
  const { heads } = await readAll(samples.map((s) => Buffer.from(s + '\n')))
  t.equal(heads.length, samples.length, 'one event per line')
  for (const h of heads) t.ok(validHead(h), h.slice(0, 80))
  t.notMatch(heads.join('\n'), /"_ack"/, 'no cursor survives as a field')
})

t.test('batches as lines (ship) hold the same events as batches of heads, hostile lines too', async (t) => {
  const deep = `{"ts":1,"body":"x","_ack":"${cursor}1","d":${'['.repeat(20000)}${']'.repeat(20000)}}`
  const text =
    [
      'plain',
      '{}',
      `{"body":"a","_ack":"${cursor}3"}`,
      `{"body":"b","_ack":"${cursor}3","_ack":"${cursor}4"}`,
      deep,
      'é'.repeat(3000),
      'x'.repeat(5000),
      '',
    ].join('\n') + '\n'
  const bytes = Buffer.from(text)
  // cut anywhere: lines completed across chunks, a long line cut into pieces (maxLine 4096)
  const chunks: Buffer[] = []
  for (let at = 0; at < bytes.length; at += 777) chunks.push(bytes.subarray(at, at + 777))
  const heads = await readAll(chunks, 4096)
  const lines = await readAll(chunks, 4096, true)
  t.same(lines.heads, heads.heads)
  t.equal(lines.input.pending, 0)
  const spans = await readAll(chunks, 4096, 'spans')
  t.same(spans.heads, heads.heads, 'as spans (roll) too')
  t.equal(spans.input.pending, 0)
})

for (const mode of ['--lines', '--spans'])
  t.test(`tsf tail | a reader of lines (${mode}): the in-place fast path gives the events tail wrote, cursors cut`, async (t) => {
    const dir = tmpdir(t)
    let text = ''
    for (let i = 0; i < 20000; i++) text += `line ${i} ${'y'.repeat(i % 300)}\n`
    text += 'x'.repeat(3 * 1024 * 1024) + '\n'
    for (let i = 0; i < 100; i++) text += `after ${i}\n`
    writeFileSync(`${dir}/app.log`, text)
    const r = await sh(t, `${tsf} tail --state st --shutdown-timeout 5s --max-line 4M app.log | ${R} out ${mode}`, { cwd: dir }).done
    t.equal(r.code, 0, r.stderr)
    const out = lines(`${dir}/out`)
    t.equal(out.length, 20101)
    const bodies = out.map((l) => JSON.parse(l))
    t.equal(bodies.filter((e) => '_ack' in e).length, 0, 'no cursor left')
    t.same(
      bodies.map((e) => e.body),
      text.split('\n').slice(0, -1),
      'every line, in order, whole',
    )
    t.ok(
      bodies.every((e, i) => i === 0 || e.seq === bodies[i - 1].seq + 1),
      'each once',
    )
  })

const valid = `{"body":"GET /x 200","ts":1700000000000,"host":"h","headers":{"file":"/a.log"},"src":"s.1","seq":7,"pos":99,"_ack":"${cursor}7"}`

fuzz(t, 'reader: random and damaged event lines always become valid events', { cases: 400 }, async (rng) => {
  const chunks: Buffer[] = []
  const count = rng.int(1, 8)
  for (let i = 0; i < count; i++) {
    const line = rng.pick([rng.bytes(rng.int(0, 200)), ...mutations(rng, valid)])
    chunks.push(Buffer.concat([line, Buffer.from('\n')]))
  }
  const { heads, input } = await readAll([Buffer.concat(chunks)], 1024)
  for (const h of heads) if (!validHead(h)) throw new Error(`invalid head: ${JSON.stringify(h)}`)
  if (input.pending !== 0) throw new Error('a batch stayed in flight')
})
