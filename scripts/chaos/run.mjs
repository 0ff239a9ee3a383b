#!/usr/bin/env node
// The chaos suite (`npm run chaos`): an agent chain and two collector chains under random kill -9,
// collector outages and a full disk, then a check that no line was lost and none doubled.
// See docs/chaos.md.
//
//   node scripts/chaos/run.mjs [--duration 3m] [--rate 300] [--seed N] [--keep] [--json FILE]
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Chain, waitFor } from './chain.mjs'
import { SmallDisk } from './disk.mjs'
import { seenCount, verify } from './verify.mjs'
import { Random } from './random.mjs'

const ROOT = resolve(fileURLToPath(new URL('../..', import.meta.url)))
const TSF = join(ROOT, 'bin/tsf.js')

const usage = (msg) => {
  process.stderr.write(
    `chaos: ${msg}\nusage: node scripts/chaos/run.mjs [--duration 3m] [--rate 300] [--seed N] [--rotate-every 3s] [--kill-every 2s-5s] [--drain-timeout 90s] [--stop-timeout 60s] [--work DIR] [--keep] [--json FILE]\n`,
  )
  process.exit(2)
}

const durationMs = (text, name) => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(String(text).trim())
  if (!m) usage(`${name}: not a duration: ${JSON.stringify(text)} (e.g. 250ms, 30s, 3m)`)
  return Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] ?? 's'])
}

let opts
try {
  opts = parseArgs({
    options: {
      duration: { type: 'string', default: '3m' },
      rate: { type: 'string', default: '300' },
      seed: { type: 'string' },
      'rotate-every': { type: 'string', default: '3s' },
      'kill-every': { type: 'string', default: '2s-5s' },
      'drain-timeout': { type: 'string', default: '90s' },
      'stop-timeout': { type: 'string', default: '60s' },
      work: { type: 'string' },
      keep: { type: 'boolean', default: false },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  }).values
} catch (e) {
  usage(e.message)
}
if (opts.help) {
  process.stdout.write(
    readFileSync(fileURLToPath(import.meta.url), 'utf8')
      .split('\n')
      .slice(1, 6)
      .join('\n')
      .replaceAll('// ', '') + '\n',
  )
  process.exit(0)
}
const duration = durationMs(opts.duration, '--duration')
const rate = Number(opts.rate)
if (!(rate > 0 && rate <= 20_000)) usage(`--rate: lines per second between 1 and 20000, not ${JSON.stringify(opts.rate)}`)
const rotateEvery = durationMs(opts['rotate-every'], '--rotate-every')
const [killMin, killMax] = opts['kill-every'].split('-').map((d) => durationMs(d, '--kill-every'))
if (!(killMax >= killMin)) usage('--kill-every: MIN-MAX, e.g. 2s-5s')
const drainTimeout = durationMs(opts['drain-timeout'], '--drain-timeout')
const stopTimeout = durationMs(opts['stop-timeout'], '--stop-timeout')
const seed = opts.seed !== undefined ? Number(opts.seed) : Math.floor(Math.random() * 1e9)
if (!Number.isInteger(seed)) usage(`--seed: an integer, not ${JSON.stringify(opts.seed)}`)
if (!existsSync(join(ROOT, 'dist/cli.js'))) {
  process.stderr.write('chaos: dist/ is missing: build first (npx tsc -p .)\n')
  process.exit(1)
}

const rnd = new Random(seed)
const run = `r${seed.toString(36)}`
const work = opts.work ? resolve(opts.work) : mkdtempSync(join(tmpdir(), 'tsf-chaos-'))
mkdirSync(work, { recursive: true })
const t0 = Date.now()
const at = () => `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s`
const say = (msg) => process.stderr.write(`chaos ${at()} ${msg}\n`)
const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

const freePort = () =>
  new Promise((res, rej) => {
    const s = createServer()
    s.on('error', rej)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => res(port))
    })
  })

// ---------- the chains ----------
const dirs = { src: join(work, 'src'), agent: join(work, 'agent'), a: join(work, 'collector-a'), b: join(work, 'collector-b') }
for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true })
// A collector's channel and roll output share one data dir: for collector-a a small file system.
const data = { a: join(dirs.a, 'data'), b: join(dirs.b, 'data') }
const out = { a: join(data.a, 'out'), b: join(data.b, 'out') }
const [portA, portB] = [await freePort(), await freePort()]

// The primary collector's data (channel and roll output) lives on a small tmpfs that the suite
// fills up: room for about three times what the run can write (~200 bytes a line); when the filler
// strikes it takes the rest, the channel stops taking events, collect stops acking, ship fails over.
const estimate = Math.ceil((rate * (duration / 1000 + 60) * 200) / (1 << 20))
const disk = new SmallDisk(data.a, `${Math.max(16, estimate * 3)}m`)
const diskSkipped = disk.mount()
mkdirSync(out.a, { recursive: true })
mkdirSync(out.b, { recursive: true })

const collector = (name, port) =>
  new Chain({
    name: `collector-${name}`,
    dir: dirs[name],
    tsf: TSF,
    stages: [
      { cmd: 'collect', args: ['--listen', `127.0.0.1:${port}`, '--shutdown-timeout', '10s'] },
      {
        cmd: 'channel',
        args: [
          '--dir',
          join(data[name], 'q'),
          '--max-size',
          '64M',
          '--segment-size',
          '1M',
          '--min-free',
          '1M',
          '--shutdown-timeout',
          '10s',
        ],
      },
      { cmd: 'roll', args: [out[name], '--interval', '3s', '--shutdown-timeout', '10s'] },
    ],
  })
const chains = {
  a: collector('a', portA),
  b: collector('b', portB),
  agent: new Chain({
    name: 'agent',
    dir: dirs.agent,
    tsf: TSF,
    stages: [
      { cmd: 'tail', args: ['-F', join(dirs.src, 'app.log*'), '--state', join(dirs.agent, 'state'), '--shutdown-timeout', '10s'] },
      {
        cmd: 'channel',
        args: [
          '--dir',
          join(dirs.agent, 'q'),
          '--max-size',
          '64M',
          '--segment-size',
          '1M',
          '--min-free',
          '1M',
          '--shutdown-timeout',
          '10s',
        ],
      },
      {
        cmd: 'ship',
        args: [
          `127.0.0.1:${portA},127.0.0.1:${portB}`,
          '--failover',
          '--ack-timeout',
          '3s',
          '--max-penalty',
          '4s',
          '--connect-timeout',
          '2s',
          '--shutdown-timeout',
          '10s',
        ],
      },
    ],
  }),
}

let writer
let stoppingWriter = false
const cleanup = () => {
  for (const c of Object.values(chains)) if (c.child) c.killAll()
  if (writer?.exitCode === null) writer.kill('SIGKILL')
  try {
    disk.free()
    disk.unmount()
  } catch (e) {
    process.stderr.write(`chaos: could not unmount ${disk.dir}: ${e.message}\n`)
  }
}
let aborting = false
const abort = (why, code = 1) => {
  if (aborting) return
  aborting = true
  say(`ABORT: ${why}`)
  cleanup()
  process.stderr.write(`chaos: work dir kept for a look: ${work}\n`)
  process.exit(code)
}
process.on('SIGINT', () => abort('interrupted', 130))
process.on('SIGTERM', () => abort('terminated', 143))
// Every wait below is bounded; this is the bound of them all together.
const watchdog = setTimeout(() => abort('the whole run took too long'), duration + drainTimeout + 2 * stopTimeout + 2 * 60_000)
watchdog.unref()

say(`seed ${seed}, run ${run}, ${opts.duration} at ${rate} lines/s, work ${work}`)
say(
  `collector-a on 127.0.0.1:${portA} (channel and roll output on ${diskSkipped ? 'the normal disk' : `a ${disk.size} tmpfs`}), collector-b on 127.0.0.1:${portB}`,
)
if (diskSkipped) say(`full-disk injection skipped: cannot mount a tmpfs (${diskSkipped})`)

chains.a.start()
chains.b.start()
for (const c of [chains.a, chains.b])
  if (!(await waitFor(() => /listening on/.test(c.text()), 30_000))) abort(`${c.name} did not start listening within 30 s:\n${c.text()}`)

const logFile = join(dirs.src, 'app.log')
writer = spawn(
  process.execPath,
  [join(ROOT, 'scripts/chaos/writer.mjs'), '--file', logFile, '--rate', String(rate), '--run', run, '--count-file', join(work, 'written')],
  {
    stdio: ['ignore', 'ignore', 'inherit'],
  },
)
writer.on('exit', (code, sig) => {
  if (!stoppingWriter) abort(`the writer died (${code ?? sig})`)
})
chains.agent.start()
if (!(await waitFor(() => seenCount(run, [out.a, out.b], rate * 60) > 0, 30_000, 250)))
  abort(`no line reached a collector within 30 s:\n${chains.agent.text()}`)
say('first lines delivered: injecting')

// ---------- injections ----------
const injected = { kills: {}, killsSkipped: 0, outages: [], diskFull: [], rotations: 0 }
const tStart = Date.now()
const tEnd = tStart + duration
const pending = []

let rotation = 0
const rotateTimer = setInterval(() => {
  rotation++
  const to = `${logFile}.${rotation}`
  // rename, then tell the writer a moment later: lines written meanwhile land in the renamed file
  renameSync(logFile, to)
  injected.rotations++
  setTimeout(() => writer.exitCode === null && writer.kill('SIGHUP'), rnd.int(0, 300))
}, rotateEvery)

const killLoop = (async () => {
  for (;;) {
    await sleep(rnd.int(killMin, killMax))
    if (Date.now() >= tEnd) return
    // a victim among the chains that run whole right now (not in an outage, not restarting)
    const live = Object.values(chains).filter((c) => !c.held() && c.running())
    if (!live.length) {
      injected.killsSkipped++
      say('kill -9: no chain running whole, skipped')
      continue
    }
    const chain = rnd.pick(live)
    const cmd = rnd.pick(chain.stages)
    const pid = chain.signal(cmd, 'SIGKILL')
    if (!pid) {
      injected.killsSkipped++
      say(`kill -9 ${chain.name}/${cmd}: gone meanwhile, skipped`)
      continue
    }
    const key = `${chain.name}/${cmd}`
    injected.kills[key] = (injected.kills[key] ?? 0) + 1
    say(`kill -9 ${key} (pid ${pid})`)
  }
})()

const outage = async (chain, startIn, length, crash) => {
  await sleep(startIn)
  say(`outage of ${chain.name} for ${(length / 1000).toFixed(1)} s (${crash ? 'kill -9 of every stage' : 'SIGTERM, graceful'})`)
  chain.hold()
  if (crash) for (const cmd of chain.stages) chain.signal(cmd, 'SIGKILL')
  else chain.signal(chain.stages[0], 'SIGTERM')
  const down = await waitFor(() => Object.keys(chain.pids()).length === 0, 30_000)
  await sleep(length)
  chain.release()
  injected.outages.push({ chain: chain.name, seconds: +(length / 1000).toFixed(1), how: crash ? 'crash' : 'graceful', stoppedInTime: down })
  if (!down) say(`${chain.name} had not stopped 30 s after its outage began`)
  say(`${chain.name} back`)
}
const fullDisk = async (startIn, length) => {
  await sleep(startIn)
  const bytes = disk.fill()
  say(`disk of collector-a full (filler ${(bytes / (1 << 20)).toFixed(1)} MiB) for ${(length / 1000).toFixed(1)} s`)
  await sleep(length)
  disk.free()
  injected.diskFull.push({ chain: 'collector-a', seconds: +(length / 1000).toFixed(1) })
  say('disk of collector-a has room again')
}

// Outages and full disks at random moments of the run, spread so each kind happens at least once.
const span = (k, n) => [duration * (0.1 + (0.75 * k) / n), duration * (0.1 + (0.75 * (k + 1)) / n)]
const outagesEach = Math.max(1, Math.round(duration / 40_000))
for (const [i, chain] of [chains.a, chains.b, chains.agent].entries())
  for (let k = 0; k < outagesEach; k++) {
    const [lo, hi] = span(k, outagesEach)
    pending.push(outage(chain, rnd.int(lo, hi) + i * 500, rnd.int(2000, 6000), rnd.next() < 0.5))
  }
if (!diskSkipped) {
  const fills = Math.max(1, Math.round(duration / 45_000))
  for (let k = 0; k < fills; k++) {
    const [lo, hi] = span(k, fills)
    pending.push(fullDisk(rnd.int(lo, hi), rnd.int(3000, 8000)))
  }
}

await sleep(duration)
clearInterval(rotateTimer)
await Promise.all([...pending, killLoop])
say('injections over; stopping the writer')

// ---------- drain, stop, verify ----------
stoppingWriter = true
const writerDone = new Promise((r) => writer.once('exit', r))
writer.kill('SIGTERM')
await writerDone
const written = Number(readFileSync(join(work, 'written'), 'utf8'))
say(`the writer wrote ${written} lines; draining`)

let seen = 0
const drained = await waitFor(() => (seen = seenCount(run, [out.a, out.b], written)) >= written, drainTimeout, 1000)
say(
  drained
    ? 'every line reached a collector; stopping the chains'
    : `drain timed out after ${opts['drain-timeout']} with ${written - seen} lines not seen`,
)

const stopped = {}
stopped.agent = await chains.agent.stop(stopTimeout)
const [sa, sb] = await Promise.all([chains.a.stop(stopTimeout), chains.b.stop(stopTimeout)])
stopped['collector-a'] = sa
stopped['collector-b'] = sb
for (const [name, ok] of Object.entries(stopped)) if (!ok) say(`${name} did not stop within ${opts['stop-timeout']} of SIGTERM`)
cleanupChainsOnly()

const switches = (chains.agent.text().match(/tsf ship: sending to /g) ?? []).length
const verdict = verify({ run, written, roots: { 'collector-a': out.a, 'collector-b': out.b }, switches })
for (const o of injected.outages)
  if (!o.stoppedInTime) verdict.failures.push(`${o.chain} did not stop within 30 s at the start of an outage (${o.how})`)
for (const [name, ok] of Object.entries(stopped))
  if (!ok) verdict.failures.push(`${name} did not stop gracefully within ${opts['stop-timeout']}`)
verdict.pass = verdict.failures.length === 0
const restarts = Object.fromEntries(Object.values(chains).map((c) => [c.name, c.restarts()]))
const unaskedCleanEnds = Object.fromEntries(Object.values(chains).map((c) => [c.name, c.unaskedCleanEnds()]))
const report = { seed, run, duration: opts.duration, rate, work, injected, diskSkipped, restarts, unaskedCleanEnds, drained, ...verdict }

function cleanupChainsOnly() {
  for (const c of Object.values(chains)) c.killAll()
}

// ---------- report ----------
const kills = Object.entries(injected.kills)
const lines = [
  `tsf chaos: ${opts.duration} at ${rate} lines/s, seed ${seed}`,
  `injected: kill -9 ×${kills.reduce((a, [, n]) => a + n, 0)} (${kills.map(([k, n]) => `${k} ${n}`).join(', ') || 'none'}; ${injected.killsSkipped} skipped: no chain running whole)`,
  `          outages ×${injected.outages.length} (${injected.outages.map((o) => `${o.chain} ${o.seconds} s ${o.how}`).join(', ')})`,
  `          full disk ×${injected.diskFull.length}${diskSkipped ? ` (skipped: ${diskSkipped})` : ` (${injected.diskFull.map((d) => `${d.chain} ${d.seconds} s`).join(', ')})`}`,
  `          log rotations ×${injected.rotations}`,
  `restarts: ${Object.entries(restarts)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ')}; ship switched destination ${switches} times`,
  ...(Object.values(unaskedCleanEnds).some(Boolean)
    ? [
        `warning:  pipelines that ended with status 0 after a crash (systemd Restart=on-failure would leave them down): ${Object.entries(
          unaskedCleanEnds,
        )
          .map(([k, n]) => `${k} ${n}`)
          .join(', ')}`,
      ]
    : []),
  `written:  ${written} lines, sha256 of the sorted set ${verdict.expectedSha256}`,
  ...Object.entries(verdict.collectors).map(
    ([name, c]) =>
      `${name}: ${c.lines} lines in ${c.files} files, ${c.distinct} distinct, ${c.twice} twice, ${c.unexpected} foreign, sha256 ${c.sha256}`,
  ),
  `union:    ${verdict.union.distinct} distinct, ${verdict.union.missing} missing, sha256 ${verdict.union.sha256}${verdict.union.complete ? ' (= written)' : ' (≠ written)'}`,
  `across collectors: ${verdict.acrossCollectors.lines} lines on both, in ${verdict.acrossCollectors.runs} runs of consecutive lines (failover copies)`,
  `runner:   ${((process.cpuUsage().user + process.cpuUsage().system) / 1e6).toFixed(1)} CPU s for the suite's own work (schedule, /proc, drain check, verification)`,
  verdict.pass ? 'verdict:  PASS' : `verdict:  FAIL\n${verdict.failures.map((f) => `  - ${f}`).join('\n')}`,
]
process.stdout.write(lines.join('\n') + '\n')
if (opts.json) writeFileSync(opts.json, JSON.stringify(report, null, 2) + '\n')
cleanup()
if (verdict.pass && !opts.keep) rmSync(work, { recursive: true, force: true })
else process.stderr.write(`chaos: work dir kept: ${work} (chain.log in each chain's dir)\n`)
process.exit(verdict.pass ? 0 : 1)
