// The documented glob 'app.log*' on a log rotated by logrotate's copytruncate (+ compress): the
// copies (app.log.1) are new inodes holding lines already read, and the .gz files are binary.
// Before, each copy was read again as a new stream (duplicates no sink can remove, as each copy
// has its own src) and each .gz became body64 garbage. Now a copy continues the stream it copies
// from where the checkpoint stood, and compressed files are skipped (--compressed reads them).
import t from 'tap'
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { gzipSync } from 'node:zlib'
import { events, numbered, pipeline, run, text, tsf, until } from '../../fixtures/tail-procs.js'

// Rotations come faster than acks: a generation's events are often acked after tail saw it
// truncated, and a copy is often seen while logrotate is still writing it (empty). Its identity is
// that of the bytes tail read (never re-read from the file at ack time), and a file that starts
// like a generation but is shorter is looked at again, so each copy is recognised.
t.setTimeout(240_000)

// A log with 200 lines rotated by logrotate (copytruncate, compress, delaycompress), tail -F on
// 'app.log*' into a reader that acks once durable; round() appends 50 lines, rotates, appends 50
// more, and waits until that many lines are in.
const setup = (t: Parameters<typeof pipeline>[0], extra = '') => {
  const dir = t.testdir({})
  mkdirSync(`${dir}/logs`)
  writeFileSync(`${dir}/lr.conf`, `${dir}/logs/app.log {\n  rotate 5\n  missingok\n  copytruncate\n  compress\n  delaycompress\n}\n`)
  writeFileSync(`${dir}/logs/app.log`, numbered('line', 0, 200))
  const p = pipeline(t, dir, `-F 'logs/app.log*' --state st --rotate-wait 200ms --poll-interval 100ms --checkpoint-interval 50ms ${extra}`)
  const bodies = (): string[] => events(`${dir}/out.ndjson`).map((e) => e.body ?? `body64:${e.body64}`)
  let next = 200
  const round = async (n: number): Promise<number> => {
    // lines written just before the copy: maybe not read from app.log before its truncation,
    // then they are in the copy only
    appendFileSync(`${dir}/logs/app.log`, numbered('line', next, next + 50))
    next += 50
    const lr = run(`logrotate -f -s ${dir}/lr.state ${dir}/lr.conf`, dir)
    t.equal(lr.code, 0, `logrotate round ${n}: ${lr.stderr}`)
    appendFileSync(`${dir}/logs/app.log`, numbered('line', next, next + 50))
    next += 50
    await until(
      () => bodies().length >= next,
      30_000,
      `${next} lines after round ${n}`,
      () => `${bodies().length}; ${text(`${dir}/tail.err`)}`,
    )
    return next
  }
  return { dir, p, bodies, round }
}

t.test("logrotate copytruncate+compress under 'app.log*': every line exactly once, no .gz bytes", async (t) => {
  const { dir, p, bodies, round: rotate } = setup(t)
  await until(
    () => bodies().length >= 200,
    30_000,
    '200 lines',
    () => text(`${dir}/tail.err`),
  )
  let next = 200
  for (let round = 1; round <= 3; round++) {
    next = await rotate(round)
    // each copy is looked at: continued or, once its original is released, matched
    await until(
      () => (text(`${dir}/tail.err`).match(/a copy of .*continuing its stream/g) ?? []).length >= round,
      30_000,
      `copy ${round} recognised`,
      () => text(`${dir}/tail.err`),
    )
  }
  // a marker after everything: once it is in, whatever tail would re-send of the copies is too
  appendFileSync(`${dir}/logs/app.log`, 'marker\n')
  run(`logrotate -f -s ${dir}/lr.state ${dir}/lr.conf`, dir) // one more copy, after the marker
  appendFileSync(`${dir}/logs/app.log`, 'marker 2\n')
  await until(
    () => bodies().includes('marker 2') && bodies().includes('marker'),
    30_000,
    'the markers',
    () => text(`${dir}/tail.err`),
  )
  await until(
    () => (text(`${dir}/tail.err`).match(/a copy of .*continuing its stream/g) ?? []).length >= 4,
    30_000,
    'copy 4 recognised',
    () => text(`${dir}/tail.err`),
  )
  const got = bodies()
  const expected = [...Array.from({ length: next }, (_, i) => `line ${i}`), 'marker', 'marker 2']
  t.same([...got].sort(), expected.sort(), 'every line exactly once, none from a copy twice')
  t.notOk(
    got.some((b) => b.startsWith('body64:')),
    'no compressed bytes as events',
  )
  t.match(text(`${dir}/tail.err`), /skipping 1 compressed file \(.*app\.log\.\d\.gz\)/, text(`${dir}/tail.err`))
  process.kill(Number(text(`${dir}/tail.pid`).trim()), 'SIGTERM')
  await p.done
})

// The next rotation as soon as the lines are in, without waiting for tail to recognise the copy
// or to have its last events acked: acks come after the truncation, copies are seen while being
// written and before their original is released. (A round must wait for the lines: a copy
// compressed away by the next rotation before tail ever saw it cannot be read, see docs/tail.md.)
t.test("logrotate rounds one after the other under 'app.log*': every line exactly once", async (t) => {
  const { dir, p, bodies, round: rotate } = setup(t, '--metrics 127.0.0.1:0')
  await until(
    () => /following 1 file/.test(text(`${dir}/tail.err`)),
    30_000,
    'the readiness line',
    () => text(`${dir}/tail.err`),
  )
  let next = 200
  for (let round = 1; round <= 6; round++) next = await rotate(round)
  appendFileSync(`${dir}/logs/app.log`, 'marker\n')
  const expected = [...Array.from({ length: next }, (_, i) => `line ${i}`), 'marker'].sort()
  await until(
    () => bodies().length >= expected.length,
    60_000,
    `${expected.length} lines`,
    () => `${bodies().length}; ${text(`${dir}/tail.err`)}`,
  )
  // whatever tail would read twice would be a copy it reads: wait until it follows the last copy
  // (app.log.1; the others are compressed) and the live file, each read and acked to its end
  const port = Number(/metrics on http:\/\/127\.0\.0\.1:(\d+)/.exec(text(`${dir}/tail.err`))![1])
  const settled = async (): Promise<boolean> => {
    const m = (await (await fetch(`http://127.0.0.1:${port}/metrics.json`)).json()) as { files: { file: string; LagBytes: number }[] }
    const files = m.files.map((f) => f.file.slice(dir.length + 1)).sort()
    return ['logs/app.log', 'logs/app.log.1'].every((f) => files.includes(f)) && m.files.every((f) => f.LagBytes === 0)
  }
  const deadline = Date.now() + 60_000
  while (!(await settled())) {
    if (Date.now() > deadline)
      throw new Error(`not settled: ${await (await fetch(`http://127.0.0.1:${port}/metrics.json`)).text()}; ${text(`${dir}/tail.err`)}`)
    await new Promise((r) => setTimeout(r, 20))
  }
  process.kill(Number(text(`${dir}/tail.pid`).trim()), 'SIGTERM')
  await p.done
  t.same([...bodies()].sort(), expected, 'every line exactly once')
})

t.test('compressed files in a directory are skipped with one line; --compressed reads them; an explicit one is read', async (t) => {
  const dir = t.testdir({ logs: { 'app.log': 'live\n', 'app.log.1.gz': gzipSync('old\n'), 'app.log.2.zst': 'zst bytes\n' } })
  const skip = run(`${tsf} tail logs --state st1 > out1`, dir)
  t.equal(skip.code, 0, skip.stderr)
  t.same(
    events(`${dir}/out1`).map((e) => e.body),
    ['live'],
  )
  t.match(skip.stderr, /skipping 2 compressed files \(.*app\.log\.1\.gz, .*app\.log\.2\.zst\): .*--compressed reads them as they are/)
  const all = run(`${tsf} tail 'logs/*' --compressed --state st2 > out2`, dir)
  t.equal(all.code, 0, all.stderr)
  t.equal(events(`${dir}/out2`).length, 3, 'with --compressed: the live file and both compressed ones')
  const named = run(`${tsf} tail logs/app.log.2.zst --state st3 > out3`, dir)
  t.same(
    events(`${dir}/out3`).map((e) => e.body),
    ['zst bytes'],
    'a file named on the command line is read',
  )
  t.notMatch(named.stderr, /skipping/)
})
