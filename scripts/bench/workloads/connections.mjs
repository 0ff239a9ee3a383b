// 1,000 senders connected to one collector (issue 12's memory target): the first lines of the log
// dealt over 1,000 connections (scripts/bench/many-senders.mjs), all open before any is sent,
// into `tsf collect --syslog | tsf roll`, into rsyslog imtcp → omfile, and over tsf's own
// protocol into `tsf collect --listen | tsf roll`. The order of lines across connections is
// free, so the check compares the output with the input as a multiset of lines.
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expectClean, rolledFiles } from '../checks.mjs'
import { Pipeline, sq } from '../pipeline.mjs'
import { freePort, rsyslogMissing, startRsyslog, waitForBytes, waitForPort } from '../rsyslog.mjs'
import { missing, ROOT, TSF } from '../tsf.mjs'
import { allRollFiles } from './syslog.mjs'

const SENDERS = Number(process.env.BENCH_SENDERS ?? 1000)
const LINES = Number(process.env.BENCH_SENDER_LINES ?? 1_000_000)

// lines, bytes and an order-free digest (a sum of per-line hashes) of some text
const linesDigest = (texts) => {
  let lines = 0
  let bytes = 0
  let sum = 0n
  for (const text of texts) {
    let at = 0
    for (;;) {
      const end = text.indexOf('\n', at)
      if (end < 0) break
      const line = text.subarray(at, end + 1)
      sum = (sum + createHash('sha1').update(line).digest().readBigUInt64BE(0)) & 0xffffffffffffffffn
      lines++
      bytes += line.length
      at = end + 1
    }
  }
  return { lines, bytes, sum }
}

// what the senders send: the first LINES lines of the log
const expected = (log) => {
  const text = readFileSync(log.path)
  let at = 0
  for (let i = 0; i < LINES; i++) {
    const end = text.indexOf('\n', at)
    if (end < 0) break
    at = end + 1
  }
  return { ...linesDigest([text.subarray(0, at)]), size: at }
}

const expectSameLines = (files, want, what) => {
  const got = linesDigest(files.map((f) => readFileSync(f)))
  if (got.lines === want.lines && got.bytes === want.bytes && got.sum === want.sum) return undefined
  return `${what}: ${got.lines} lines / ${got.bytes} bytes, expected ${want.lines} / ${want.bytes}${got.lines === want.lines && got.bytes === want.bytes ? ' (same count, other lines)' : ''}`
}

const senders = (ctx, port, mode) =>
  new Pipeline({
    dir: ctx.work,
    stages: [
      {
        label: 'senders',
        cmd: `node ${sq(join(ROOT, 'scripts/bench/many-senders.mjs'))} ${sq(ctx.log.path)} ${port} ${SENDERS} ${LINES} ${mode}`,
      },
    ],
    stdout: '/dev/null',
  })

const tsfCollector = (mode) => ({
  name: mode === 'syslog' ? 'connections' : 'connections-wire',
  title:
    mode === 'syslog'
      ? `${SENDERS} syslog senders over TCP → tsf collect --syslog | tsf roll`
      : `${SENDERS} tsf senders (the wire protocol) → tsf collect --listen | tsf roll`,
  needs: () => missing(['collect', 'roll'], mode === 'syslog' ? { collect: ['--syslog'] } : {}),
  async run(ctx) {
    const want = expected(ctx.log)
    const out = join(ctx.work, 'rolled')
    const listen = mode === 'syslog' ? '--syslog tcp://127.0.0.1:0' : '--listen 127.0.0.1:0'
    const collector = new Pipeline({
      dir: ctx.work,
      stages: [
        { label: 'collect', cmd: `${TSF} collect ${listen}` },
        { label: 'roll', cmd: `${TSF} roll ${sq(out)}` },
      ],
    })
    let send
    try {
      const [, port] = await collector.waitFor('collect', /(?:listening|syslog)[^\n]*?(?:127\.0\.0\.1|localhost):(\d+)/)
      send = senders(ctx, port, mode)
      const done = await waitForBytes(() => allRollFiles(out), want.size, { timeoutMs: ctx.timeoutMs, pipelines: [collector] })
      const wall = Number(done - send.started) / 1e9
      await send.wait(60_000)
      collector.signal('collect', 'SIGTERM')
      await collector.wait(60_000)
      const procs = [...send.processes(), ...collector.processes()]
      const problem = expectClean(procs) ?? expectSameLines(rolledFiles(out), want, 'rolled files')
      return { bytes: want.size, events: want.lines, wall, procs, problem, command: `${collector.command}\n${send.command}` }
    } finally {
      send?.kill()
      collector.kill()
    }
  },
})

export const connectionsTsf = tsfCollector('syslog')
export const connectionsWire = tsfCollector('wire')

export const connectionsRsyslog = {
  name: 'rsyslog-connections',
  title: `${SENDERS} syslog senders over TCP → rsyslog imtcp → omfile`,
  needs: rsyslogMissing,
  async run(ctx) {
    const want = expected(ctx.log)
    const port = await freePort()
    const out = join(ctx.work, 'out.log')
    const collector = startRsyslog(ctx, 'rsyslog-collector', 'collector-many', { PORT: port, OUT: out })
    let send
    try {
      await waitForPort(port)
      send = senders(ctx, port, 'syslog')
      const done = await waitForBytes(() => [out], want.size, { timeoutMs: ctx.timeoutMs, pipelines: [collector] })
      const wall = Number(done - send.started) / 1e9
      await send.wait(60_000)
      collector.signal('rsyslog-collector', 'SIGTERM')
      await collector.wait(30_000)
      const procs = [...send.processes(), ...collector.processes()]
      const problem = expectClean(procs) ?? expectSameLines([out], want, 'omfile output')
      return { bytes: want.size, events: want.lines, wall, procs, problem, command: `${collector.command}\n${send.command}` }
    } finally {
      send?.kill()
      collector.kill()
    }
  },
}
