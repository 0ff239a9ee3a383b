import t from 'tap'
import { readFileSync } from 'node:fs'
import { sh } from '../fixtures/procs.js'
import { buildChannel, ended, linkReader, replayWriter, stderrSays, tsf } from './helpers.js'

// The operator's view of a channel: --stat --json, metrics whose names each mean one thing, and
// progress while a reader drains a backlog.

t.test('--stat --json is one document with the backlog of every reader, segments and disk use', async (t) => {
  const dir = t.testdir()
  const q = `${dir}/q`
  buildChannel(q, { events: 300, perRecord: 10, perSegment: 100, offsets: { behind: { index: 0, segment: 0, pos: 0 }, broken: 'x' } })
  const ahead = await ended(sh(t, `${tsf} channel --dir ${q} --reader ahead < /dev/null | ${linkReader} ${dir}/out`))
  t.equal(ahead.code, 0, ahead.stderr)
  const run = await ended(sh(t, `${tsf} channel --dir ${q} --stat --json`))
  t.equal(run.code, 0, run.stderr)
  const st = JSON.parse(run.stdout) as {
    version: number
    writer: { running: boolean; pid: number | null }
    segments: { count: number; bytes: number; firstIndex: number; nextIndex: number }
    backlog: { events: number; bytes: number; oldestAgeMs: number | null }
    disk: { usedBytes: number; freeBytes: number }
    readers: {
      name: string
      running: boolean
      backlog: { events: number; bytes: number; oldestAgeMs: number | null }
      offsetProblem: string | null
    }[]
  }
  t.equal(st.version, 1)
  t.same(st.writer, { running: false, pid: null })
  t.match(st.segments, { count: 3, firstIndex: 0, nextIndex: 300 })
  t.ok(st.segments.bytes > 0 && st.disk.usedBytes === st.segments.bytes && st.disk.freeBytes > 0)
  t.equal(st.backlog.events, 300, 'the slowest reader has all of it to take')
  t.equal(st.backlog.bytes, st.segments.bytes)
  t.type(st.backlog.oldestAgeMs, 'number')
  const by = Object.fromEntries(st.readers.map((r) => [r.name, r]))
  t.same(Object.keys(by).sort(), ['ahead', 'behind', 'broken'])
  t.same(by.ahead!.backlog, { events: 0, bytes: 0, oldestAgeMs: null })
  t.equal(by.behind!.backlog.events, 300)
  t.equal(by.broken!.offsetProblem, 'not JSON', 'a damaged offset file is reported, not hidden')
  t.equal(by.broken!.backlog.events, 300, 'and counts as reading from the oldest record')
  const text = await ended(sh(t, `${tsf} channel --dir ${q} --stat`))
  t.match(text.stdout, /^reader broken +lag 300 events, .*offset file not JSON: starts from the oldest record$/m)
  const misuse = await ended(sh(t, `${tsf} channel --dir ${q} --json`))
  t.equal(misuse.code, 2)
  t.match(misuse.stderr, /--json goes with --stat/)
})

t.test('metrics: events under Flume names, bytes under names of their own', async (t) => {
  const dir = t.testdir()
  const run = sh(
    t,
    `${replayWriter} 2000 ${dir}/cp --per-tick 5 | ${tsf} channel --dir ${dir}/q --metrics 127.0.0.1:0 | ${linkReader} ${dir}/out`,
  )
  await stderrSays(run, /metrics on http:\/\/127\.0\.0\.1:\d+/)
  // the metrics server answers before the channel has opened its log and named its gauges
  await stderrSays(run, /: ready \(/)
  const port = /metrics on http:\/\/127\.0\.0\.1:(\d+)/.exec(run.stderr())![1]
  const m = ((await (await fetch(`http://127.0.0.1:${port}/metrics.json`)).json()) as { channel: Record<string, number> }).channel
  for (const name of [
    'ChannelSize',
    'ChannelFillPercentage',
    'ChannelSizeBytes',
    'ChannelCapacityBytes',
    'ReaderBacklogEvents',
    'EventPutSuccessCount',
    'EventTakeSuccessCount',
    'EventDropCount',
    'EventQuarantineCount',
  ]) {
    t.type(m[name], 'number', name)
  }
  t.equal(m.ChannelCapacity, undefined, 'no byte count under the name Flume uses for an event count')
  t.equal(m.ChannelCapacityBytes, 1024 ** 3)
  const prom = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()
  t.match(prom, /^tsf_channel_channel_size_bytes \d+$/m)
  const done = await ended(run, 60_000)
  t.equal(done.code, 0, done.stderr)
})

t.test('a reader draining a backlog: a final summary on a pipe, a line rewritten in place on a terminal', async (t) => {
  const dir = t.testdir()
  buildChannel(`${dir}/q`, { events: 20_000, perRecord: 200, perSegment: 5000 })
  buildChannel(`${dir}/q2`, { events: 20_000, perRecord: 200, perSegment: 5000 })
  // a slow downstream (a pause per batch) makes the drain last several seconds
  const piped = await ended(sh(t, `${tsf} channel --dir ${dir}/q --reader r < /dev/null | ${linkReader} ${dir}/out --delay 300`), 120_000)
  t.equal(piped.code, 0, piped.stderr)
  t.match(piped.stderr, /tsf channel: reader r: drained its backlog: 20000 of 20000 events, [\d.]+ [KMG]?i?B in [\d.]+ s/)
  t.notMatch(piped.stderr, /\r/, 'no live line where stderr is not a terminal')
  // stderr on a terminal (script gives the pipeline a pty)
  const pipeline = `${tsf} channel --dir ${dir}/q2 --reader r < /dev/null | ${linkReader} ${dir}/out2 --delay 300`
  const tty = await ended(sh(t, `script -qfec "${pipeline}" /dev/null > ${dir}/tty.out 2>&1`), 120_000)
  t.equal(tty.code, 0, tty.stderr)
  const screen = readFileSync(`${dir}/tty.out`, 'utf8')
  t.match(screen, /\r\x1b\[Ktsf channel: reader r: draining its backlog: \d+ of 20000 events \(\d+%\), .* left at .*\/s/, 'a live line')
  t.match(screen, /reader r: drained its backlog: 20000 of 20000 events/, 'and the summary at the end')
})
