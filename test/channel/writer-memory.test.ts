import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { LogReader } from '../../src/channel/log-reader.js'
import { LogWriter } from '../../src/channel/log-writer.js'
import { ensureReadersDir } from '../../src/channel/offsets.js'
import { encodeBlockLines } from '../../src/channel/record.js'
import { segmentPath } from '../../src/channel/segments.js'

// ~128 KiB batches of event heads laid out as lines (what the channel's input hands the writer)
const batch = (from: number, n: number): { lines: Buffer; count: number } => ({
  lines: Buffer.from(Array.from({ length: n }, (_, i) => `{"body":"event ${from + i} ${'x'.repeat(200)}","seq":${from + i}\n`).join('')),
  count: n,
})
const PER_BATCH = 500

const seqsOf = (runs: Buffer[]): number[] =>
  runs.flatMap((r) =>
    r
      .toString()
      .split('\n')
      .slice(0, -1)
      .map((l) => (JSON.parse(`${l}}`) as { seq: number }).seq),
  )

const open = (memoryReader?: boolean): { dir: string; writer: LogWriter; reader: LogReader } => {
  const dir = mkdtempSync(join(tmpdir(), 'tsf-writer-memory-'))
  ensureReadersDir(dir)
  const writer = LogWriter.open({ dir, segmentSize: 64 * 1024 * 1024, fsync: { kind: 'batch' }, memoryReader })
  const reader = new LogReader(dir, 'r', {
    recent: (segment, pos) => writer.take(segment, pos),
    segments: () => writer.bases(),
    end: () => writer.end(),
  })
  t.teardown(async () => {
    await reader.close()
    writer.close()
  })
  return { dir, writer, reader }
}

// Everything the reader has to read, and how many of its reads came from the writer's memory
// (a batch from memory is one the writer handed over: runs that are views of its ring).
const readAll = (reader: LogReader, writer: LogWriter): { seqs: number[]; fromMemory: number } => {
  const seqs: number[] = []
  let fromMemory = 0
  for (;;) {
    const before = writer.take.bind(writer)
    let handed = false
    ;(writer as unknown as { take: typeof writer.take }).take = (s, p) => {
      const got = before(s, p)
      if (got) handed = true
      return got
    }
    const got = reader.read()
    ;(writer as unknown as { take: typeof writer.take }).take = before
    if (!got) return { seqs, fromMemory }
    if (handed) fromMemory++
    seqs.push(...seqsOf(got.runs))
  }
}

t.test('a reader far behind gets every event, in order, from the file; once caught up, from memory', async (t) => {
  const { dir, writer, reader } = open()
  t.same(readAll(reader, writer).seqs, [], 'nothing yet')
  // 8 MiB while the reader waits: more than the ring holds, written straight from the batches
  let seq = 1
  const done: Promise<void>[] = []
  for (let i = 0; i < 64; i++, seq += PER_BATCH) done.push(writer.append(batch(seq, PER_BATCH)))
  await Promise.all(done)
  const behind = readAll(reader, writer)
  t.same(
    behind.seqs,
    Array.from({ length: seq - 1 }, (_, i) => i + 1),
    'every event once, in order',
  )
  t.ok(behind.fromMemory < 64, 'the blocks it was too far behind for came from the file')
  // caught up: the next blocks come from memory
  await writer.append(batch(seq, PER_BATCH))
  const caughtUp = readAll(reader, writer)
  t.same(
    caughtUp.seqs,
    Array.from({ length: PER_BATCH }, (_, i) => seq + i),
  )
  t.equal(caughtUp.fromMemory, 1, 'a caught-up reader takes the block from memory')
  // the file holds the same bytes either way: each block as encodeBlockLines makes it, whether it
  // went through the ring or straight from the batch
  const file = readFileSync(segmentPath(dir, 0))
  let at = 0
  for (let first = 1; first <= seq; first += PER_BATCH) {
    const time = file.readUIntLE(at + 14, 6)
    const expected = encodeBlockLines(batch(first, PER_BATCH).lines, PER_BATCH, first - 1, time)
    if (!file.subarray(at, at + expected.length).equals(expected)) t.fail(`block of events ${first}.. differs`)
    at += expected.length
  }
  t.equal(at, file.length, 'the file is those blocks')
})

t.test('--write-only keeps nothing in memory: every block is read from the file', async (t) => {
  const { writer, reader } = open(false)
  await writer.append(batch(1, PER_BATCH))
  const got = readAll(reader, writer)
  t.same(
    got.seqs,
    Array.from({ length: PER_BATCH }, (_, i) => i + 1),
  )
  t.equal(got.fromMemory, 0)
})
