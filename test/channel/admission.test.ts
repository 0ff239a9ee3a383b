import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { Admission } from '../../src/channel/admission.js'
import { LogWriter } from '../../src/channel/log-writer.js'
import { ensureReadersDir, saveOffset } from '../../src/channel/offsets.js'
import { FreeSpace } from '../../src/channel/space.js'
import { Sweeper } from '../../src/channel/sweep.js'
import { Counters } from '../../src/core/metrics.js'

const KiB = 1024
const heads = (n: number, from: number): Buffer[] =>
  Array.from({ length: n }, (_, i) => Buffer.from(`{"body":"event ${from + i} ${'x'.repeat(80)}","src":"w","seq":${from + i}`))

// a channel dir whose log holds 100 events (~11 KiB), all in the active segment (not full
// enough to be sealed); --max-size 64K below
const logOf100 = async (t: Test): Promise<{ dir: string; writer: LogWriter }> => {
  const dir = mkdtempSync(join(tmpdir(), 'tsf-admission-'))
  ensureReadersDir(dir)
  const writer = LogWriter.open({ dir, segmentSize: 16 * KiB, fsync: { kind: 'batch' } })
  t.teardown(() => writer.close())
  await writer.append(heads(100, 1))
  return { dir, writer }
}

// --max-size 64K, --when-full block
const blockingAdmission = (dir: string, writer: LogWriter, sweeper: Sweeper): Admission => {
  const stop = new AbortController()
  stop.abort() // a hold would return 'stop' at once instead of waiting: the answer shows the decision
  return new Admission(
    { dir, maxSize: 64 * KiB, minFree: 0, whenFull: 'block' },
    writer,
    new FreeSpace(dir),
    sweeper,
    new Counters('channel'),
    stop.signal,
  )
}

t.test('--when-full block: a batch that does not fit beside a fully read active segment is taken, not held for ever', async (t) => {
  const { dir, writer } = await logOf100(t)
  t.equal(writer.sealed().length, 0, 'nothing sealed: the events sit in the active segment')
  // the only reader has taken every event
  saveOffset(dir, 'r', { index: writer.nextIndex, segment: writer.activeBase, pos: writer.end().pos })
  const room = blockingAdmission(dir, writer, new Sweeper(dir, writer))
  const batch = 60 * KiB // with the 11 KiB already stored: past --max-size 64K
  t.notOk(room.fits(batch), 'the batch does not fit beside what is stored')
  t.equal(await room.admit(batch), 'ok', 'taken: what the readers have all read is sealed and swept')
  t.equal(writer.totalBytes, 0, 'the read segment is gone from disk')
})

t.test('--when-full block: while a reader still has events to take, the input is held', async (t) => {
  const { dir, writer } = await logOf100(t)
  saveOffset(dir, 'r', { index: 50, segment: writer.activeBase, pos: 0 }) // half read (the position is not used here)
  const room = blockingAdmission(dir, writer, new Sweeper(dir, writer))
  t.equal(await room.admit(60 * KiB), 'stop', 'held until the reader catches up (here: the stop)')
  t.ok(writer.totalBytes > 0, 'nothing unread was deleted')
})
