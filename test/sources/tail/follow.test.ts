// tsf tail -F: following by name across rotation, truncation, deletion and new files, through a
// real pipe to a real tsf reader over the ack link (test/fixtures/link-reader.mjs).
import t, { type Test } from 'tap'
import { appendFileSync, closeSync, openSync, readdirSync, readlinkSync, renameSync, unlinkSync, writeFileSync, writeSync } from 'node:fs'
import {
  deduped,
  events,
  exitIn,
  numbered,
  pidIn,
  pipeline,
  run,
  sleep,
  text,
  until,
  type TsfEventLine,
} from '../../fixtures/tail-procs.js'

const FAST = '--rotate-wait 300ms --poll-interval 200ms --checkpoint-interval 50ms'

const bodies = (list: TsfEventLine[]): string[] => list.map((e) => e.body)

// Waits until the reader made `n` distinct events durable.
const delivered = async (t: Test, dir: string, n: number, ms = 30_000): Promise<TsfEventLine[]> => {
  await until(
    () => deduped(events(`${dir}/out.ndjson`)).length >= n,
    ms,
    `${n} events`,
    () => `${deduped(events(`${dir}/out.ndjson`)).length} so far; tail: ${text(`${dir}/tail.err`)}`,
  )
  return deduped(events(`${dir}/out.ndjson`))
}

// SIGTERM the tail; the reader ends with it. Both exit 0.
const stop = async (t: Test, dir: string, p: { done: Promise<unknown> }): Promise<void> => {
  process.kill(pidIn(`${dir}/tail.pid`), 'SIGTERM')
  await p.done
  t.equal(exitIn(`${dir}/tail.exit`), 0, `tail exits 0 on SIGTERM: ${text(`${dir}/tail.err`)}`)
  t.equal(exitIn(`${dir}/reader.exit`), 0, 'the reader exits 0')
}

const expectExactlyOnce = (t: Test, all: TsfEventLine[], want: string[]): void => {
  const got = bodies(deduped(all)).sort()
  t.same(got, [...want].sort(), 'every line exactly once after dedupe on src/seq')
}

t.test('rename rotation: the old file is read to its end (late writes too), the new one from 0 under a new src', async (t) => {
  const dir = t.testdir({ 'app.log': numbered('old', 0, 100) })
  const p = pipeline(t, dir, `-F app.log --state st ${FAST}`)
  await delivered(t, dir, 100)
  renameSync(`${dir}/app.log`, `${dir}/app.log.1`)
  appendFileSync(`${dir}/app.log.1`, numbered('old', 100, 150)) // the writer has not reopened yet
  writeFileSync(`${dir}/app.log`, numbered('new', 0, 50))
  const all = await delivered(t, dir, 200)
  const old = all.filter((e) => e.body.startsWith('old'))
  const young = all.filter((e) => e.body.startsWith('new'))
  t.equal(new Set(old.map((e) => e.src)).size, 1, 'the renamed file keeps its src')
  t.same(
    old.map((e) => e.seq),
    Array.from({ length: 150 }, (_, i) => i + 1),
  )
  t.equal(new Set(young.map((e) => e.src)).size, 1)
  t.not(young[0]!.src, old[0]!.src, 'the new file at the old path is a new stream')
  t.same(young.map((e) => e.seq).slice(0, 3), [1, 2, 3])
  t.ok(young.every((e) => e.headers.file === `${dir}/app.log`))
  await until(() => /rotated away; read to its end and let go/.test(text(`${dir}/tail.err`)), 10_000, 'the rotated file to be let go')
  const fds = readdirSync(`/proc/${pidIn(`${dir}/tail.pid`)}/fd`).map((f) => {
    try {
      return readlinkSync(`/proc/${pidIn(`${dir}/tail.pid`)}/fd/${f}`)
    } catch {
      return ''
    }
  })
  t.notOk(
    fds.some((f) => f.endsWith('app.log.1')),
    'no descriptor of the rotated file is held',
  )
  await stop(t, dir, p)
  expectExactlyOnce(t, events(`${dir}/out.ndjson`), [
    ...Array.from({ length: 150 }, (_, i) => `old ${i}`),
    ...Array.from({ length: 50 }, (_, i) => `new ${i}`),
  ])
})

t.test('logrotate create and copytruncate (the real logrotate): nothing lost, nothing repeated', async (t) => {
  const dir = t.testdir({ 'app.log': numbered('a', 0, 100) })
  const conf = (mode: string): string => {
    writeFileSync(`${dir}/lr.conf`, `${dir}/app.log {\n  ${mode}\n  rotate 5\n  missingok\n}\n`)
    return `logrotate -f -s ${dir}/lr.state ${dir}/lr.conf`
  }
  const p = pipeline(t, dir, `-F app.log --state st ${FAST}`)
  await delivered(t, dir, 100)
  t.equal(run(conf('create'), dir).code, 0, 'logrotate create')
  appendFileSync(`${dir}/app.log`, numbered('b', 0, 100))
  await delivered(t, dir, 200)
  t.equal(run(conf('copytruncate'), dir).code, 0, 'logrotate copytruncate')
  appendFileSync(`${dir}/app.log`, numbered('c', 0, 100))
  const all = await delivered(t, dir, 300)
  await until(() => /truncated in place/.test(text(`${dir}/tail.err`)), 10_000, 'the truncation to be noticed')
  const srcs = ['a', 'b', 'c'].map((k) => new Set(all.filter((e) => e.body.startsWith(k)).map((e) => e.src)))
  t.same(
    srcs.map((s) => s.size),
    [1, 1, 1],
    'one src per file generation',
  )
  t.not([...srcs[1]!][0], [...srcs[2]!][0], 'copytruncate starts a new src')
  t.same(
    all
      .filter((e) => e.body.startsWith('c'))
      .map((e) => e.seq)
      .slice(0, 2),
    [1, 2],
  )
  await stop(t, dir, p)
  expectExactlyOnce(
    t,
    events(`${dir}/out.ndjson`),
    [...'abc'].flatMap((k) => Array.from({ length: 100 }, (_, i) => `${k} ${i}`)),
  )
})

t.test('two rotations within one poll interval under load (app.log* watched): every line exactly once', async (t) => {
  const dir = t.testdir({ 'app.log': '' })
  const p = pipeline(t, dir, `-F 'app.log*' --state st --rotate-wait 300ms --poll-interval 5s --checkpoint-interval 50ms`)
  await until(() => text(`${dir}/tail.err`) !== '' || events(`${dir}/out.ndjson`).length >= 0, 5000, 'tail to start')
  let n = 0
  const write = (count: number): void => {
    appendFileSync(`${dir}/app.log`, numbered('line', n, n + count))
    n += count
  }
  write(1000)
  await delivered(t, dir, 1000)
  // app.log.k -> app.log.k+1 ..., app.log -> app.log.1, a new app.log: twice in a row, three
  // times, writing throughout, far quicker than the 5 s poll (every rotated file is kept)
  let rotated = 0
  for (let round = 0; round < 3; round++) {
    for (let k = 0; k < 2; k++) {
      write(2000)
      for (let j = rotated; j >= 1; j--) renameSync(`${dir}/app.log.${j}`, `${dir}/app.log.${j + 1}`)
      renameSync(`${dir}/app.log`, `${dir}/app.log.1`)
      rotated++
      writeFileSync(`${dir}/app.log`, '')
      write(500)
    }
    await sleep(50)
  }
  write(100)
  await delivered(t, dir, n, 60_000)
  await stop(t, dir, p)
  expectExactlyOnce(
    t,
    events(`${dir}/out.ndjson`),
    Array.from({ length: n }, (_, i) => `line ${i}`),
  )
})

t.test('a deleted file still open is read to its end, then let go; a file that appears later is read', async (t) => {
  const dir = t.testdir({ 'gone.log': numbered('g', 0, 10) })
  const p = pipeline(t, dir, `-F gone.log later.log --state st ${FAST}`)
  await delivered(t, dir, 10)
  t.match(text(`${dir}/tail.err`), /later\.log: no such file \(yet\): waiting for it to appear/)
  const fd = openSync(`${dir}/gone.log`, 'a')
  unlinkSync(`${dir}/gone.log`)
  writeSync(fd, numbered('g', 10, 20)) // written after the unlink, by a writer that still has it open
  await delivered(t, dir, 20)
  closeSync(fd)
  await until(() => /gone\.log: deleted; read to its end and let go/.test(text(`${dir}/tail.err`)), 10_000, 'the deleted file to be let go')
  const pid = pidIn(`${dir}/tail.pid`)
  const held = readdirSync(`/proc/${pid}/fd`).some((f) => {
    try {
      return readlinkSync(`/proc/${pid}/fd/${f}`).includes('(deleted)')
    } catch {
      return false
    }
  })
  t.notOk(held, 'no deleted file is held open')
  writeFileSync(`${dir}/later.log`, 'hello\npartial')
  await delivered(t, dir, 21)
  await sleep(300)
  t.equal(deduped(events(`${dir}/out.ndjson`)).length, 21, 'the unterminated line is held while following')
  appendFileSync(`${dir}/later.log`, ' line\n')
  const all = await delivered(t, dir, 22)
  t.equal(all.at(-1)!.body, 'partial line', 'held until complete, then emitted whole')
  await stop(t, dir, p)
})

t.test('new files in a watched directory are picked up; latency from append to the reader', async (t) => {
  const dir = t.testdir({ logs: { 'a.log': 'a0\n' } })
  const p = pipeline(t, dir, `-F logs --match '\\.log$' --state st ${FAST}`)
  await delivered(t, dir, 1)
  writeFileSync(`${dir}/logs/b.log`, 'b0\n')
  writeFileSync(`${dir}/logs/b.txt`, 'not matched\n')
  await delivered(t, dir, 2)
  const lat: number[] = []
  for (let i = 0; i < 20; i++) {
    const t0 = process.hrtime.bigint()
    appendFileSync(`${dir}/logs/a.log`, `a${i + 1}\n`)
    await until(() => events(`${dir}/out.ndjson`).length >= 3 + i, 10_000, `event a${i + 1}`)
    lat.push(Number(process.hrtime.bigint() - t0) / 1e6)
  }
  lat.sort((a, b) => a - b)
  t.comment(`append -> durable at the reader (fsync included, 20 ms polling of the file): p50 ${lat[10]!.toFixed(2)} ms`)
  await stop(t, dir, p)
  t.notOk(bodies(events(`${dir}/out.ndjson`)).includes('not matched'))
})

t.test('the downstream stops acking: tail stops reading (the file is the buffer), and resumes', async (t) => {
  const dir = t.testdir()
  const line = `${'x'.repeat(190)}\n`
  writeFileSync(`${dir}/big.log`, line.repeat(100_000)) // 19 MB
  const p = pipeline(t, dir, `-F big.log --state st --window 1M --metrics 127.0.0.1:0 ${FAST}`)
  await until(() => events(`${dir}/out.ndjson`).length > 0, 20_000, 'the first events')
  const reader = pidIn(`${dir}/reader.pid`)
  process.kill(reader, 'SIGSTOP')
  const count = (): number => deduped(events(`${dir}/out.ndjson`)).length
  await sleep(1500)
  const stalled = count()
  await sleep(1000)
  t.equal(count(), stalled, 'nothing moves while the reader is stopped')
  t.ok(stalled < 50_000, `tail did not read ahead: ${stalled} of 100000 delivered`)
  process.kill(reader, 'SIGCONT')
  await delivered(t, dir, 100_000, 90_000)
  await stop(t, dir, p)
})

t.test('a killed downstream: tail exits 4, its checkpoint is within what was durable, and a restart resumes there', async (t) => {
  const dir = t.testdir({ 'app.log': numbered('k', 0, 50_000) })
  const p = pipeline(t, dir, `-F app.log --state st ${FAST}`, '--delay 20')
  await until(() => events(`${dir}/out.ndjson`).length > 5000, 30_000, 'some events')
  process.kill(pidIn(`${dir}/reader.pid`), 'SIGKILL')
  await p.done
  t.equal(exitIn(`${dir}/tail.exit`), 4, 'tail: downstream lost')
  // a sink killed mid-write cuts its torn last record on start; do the same for the file it left
  const written = text(`${dir}/out.ndjson`)
  writeFileSync(`${dir}/out.ndjson`, written.slice(0, written.lastIndexOf('\n') + 1))
  const durable = events(`${dir}/out.ndjson`)
  const ck = JSON.parse(text(`${dir}/st/checkpoints.json`)) as { files: { seq: number }[] }
  t.ok(ck.files[0]!.seq <= durable.length, `checkpoint seq ${ck.files[0]!.seq} <= durable ${durable.length}`)
  t.ok(ck.files[0]!.seq > 0, 'acks arrived before the kill')
  const p2 = pipeline(t, dir, `-F app.log --state st ${FAST}`)
  const all = await delivered(t, dir, 50_000)
  const again = events(`${dir}/out.ndjson`).length - all.length
  t.ok(again < 50_000 - ck.files[0]!.seq + 1, `resumed at the checkpoint (${again} redelivered)`)
  await stop(t, dir, p2)
  expectExactlyOnce(
    t,
    events(`${dir}/out.ndjson`),
    Array.from({ length: 50_000 }, (_, i) => `k ${i}`),
  )
})

t.test('1,000 files followed in one directory: appends to any of them and new files arrive', async (t) => {
  const dir = t.testdir({ logs: {} })
  for (let i = 0; i < 1000; i++) writeFileSync(`${dir}/logs/f${i}.log`, `f${i} 0\n`)
  const p = pipeline(t, dir, `-F logs --state st ${FAST}`)
  await delivered(t, dir, 1000, 60_000)
  const want = Array.from({ length: 1000 }, (_, i) => `f${i} 0`)
  for (let i = 0; i < 1000; i += 7) {
    appendFileSync(`${dir}/logs/f${i}.log`, `f${i} 1\n`)
    want.push(`f${i} 1`)
  }
  for (let i = 0; i < 10; i++) {
    writeFileSync(`${dir}/logs/new${i}.log`, `new${i} 0\n`)
    want.push(`new${i} 0`)
  }
  await delivered(t, dir, want.length, 60_000)
  const pid = pidIn(`${dir}/tail.pid`)
  const open = readdirSync(`/proc/${pid}/fd`).length
  t.ok(open >= 1010, `one descriptor per followed file (${open})`)
  await stop(t, dir, p)
  expectExactlyOnce(t, events(`${dir}/out.ndjson`), want)
})
