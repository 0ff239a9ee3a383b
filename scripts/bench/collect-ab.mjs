// collect's CPU alone, for A/B runs of two builds: one tsf connection sends a log as tail-shaped
// events (the W1 event shape: body, ts, host, headers.file, src, seq, pos) in 900 KiB batches, 4 in
// flight, to `tsf collect` from the build under test, piped into `tsf roll` (or > /dev/null) from a
// fixed build; prints collect's CPU seconds (getrusage at exit, exit-usage.cjs) per GiB of the log.
// Without tail and ship on the same cores, collect's share is measured with less noise than in W1.
// usage: node scripts/bench/collect-ab.mjs COLLECT_ROOT LOG [roll|null] [--others ROOT] [--bytes N] [--agent]
//   --agent: the sender is W1's agent, `tsf tail LOG | tsf ship` of the --others build, instead of
//     this process (its batches are what ship makes of tail's writes, not 900 KiB ones)
//   COLLECT_ROOT, ROOT: directories holding bin/tsf.js and dist/ (copies of two builds)
//   AB_PROF=DIR: collect runs under node --cpu-prof, its profile written into DIR
//   AB_NODE_ARGS='...': more arguments for collect's node (V8 flags, say)
//   AB_STRACE=FILE: strace -c -f counts collect's system calls while the log is sent, into FILE
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const argv = process.argv.slice(2)
const option = (name, dflt) => {
  const i = argv.indexOf(name)
  return i === -1 ? dflt : argv.splice(i, 2)[1]
}
const own = fileURLToPath(new URL('../../', import.meta.url))
const others = option('--others', own)
const limit = Number(option('--bytes', Infinity))
const agentAt = argv.indexOf('--agent')
const viaAgent = agentAt !== -1
if (viaAgent) argv.splice(agentAt, 1)
const [root, log, down = 'roll'] = argv
if (!root || !log) {
  console.error('usage: node scripts/bench/collect-ab.mjs COLLECT_ROOT LOG [roll|null] [--others ROOT] [--bytes N]')
  process.exit(2)
}
const { w1Batches } = await import('./w1-batches.mjs')
const { WireConnection } = await import(join(others, 'dist/sinks/tcp/connection.js'))

const text = viaAgent ? '' : readFileSync(log, 'latin1').slice(0, limit)
const logBytes = viaAgent ? statSync(log).size : Math.min(statSync(log).size, limit)
const batches = w1Batches(text)

const work = mkdtempSync(join(tmpdir(), 'tsf-collect-ab-'))
const sink = down === 'roll' ? `| node ${join(others, 'bin/tsf.js')} roll ${join(work, 'rolled')}` : '> /dev/null'
const child = spawn(
  'sh',
  [
    '-c',
    `node ${process.env.AB_NODE_ARGS ?? ''} ${process.env.AB_PROF ? `--cpu-prof --cpu-prof-dir=${process.env.AB_PROF}` : ''} ${join(root, 'bin/tsf.js')} collect --listen 127.0.0.1:0 2>${join(work, 'collect.err')} ${sink}`,
  ],
  {
    stdio: 'ignore',
    env: {
      ...process.env,
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${join(own, 'scripts/bench/exit-usage.cjs')}`,
      TSF_BENCH_USAGE_DIR: work,
    },
  },
)
let port
for (let tries = 0; port === undefined; tries++) {
  await new Promise((resolve) => setTimeout(resolve, 100))
  let err = ''
  try {
    err = readFileSync(join(work, 'collect.err'), 'utf8')
  } catch {}
  const m = /listening on 127\.0\.0\.1:(\d+)/.exec(err)
  if (m) port = Number(m[1])
  else if (tries > 600) {
    console.error(`collect did not start: ${err}`)
    child.kill()
    process.exit(1)
  }
}

// collect is a child of the shell (no exec: a forked copy of this big process would count in its peak RSS)
const collectPid = (() => {
  for (const pid of readFileSync(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').trim().split(/\s+/)) {
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('\0collect\0')) return Number(pid)
    } catch {}
  }
  return child.pid // a shell that exec'd its only command
})()
let strace
if (process.env.AB_STRACE) {
  strace = spawn('strace', ['-c', '-f', '-p', String(collectPid), '-o', process.env.AB_STRACE], { stdio: 'ignore' })
  await new Promise((resolve) => setTimeout(resolve, 1000)) // attached
}
let wall
if (viaAgent) {
  const started = process.hrtime.bigint()
  const tsf = `node ${join(others, 'bin/tsf.js')}`
  const agent = spawn(
    'sh',
    [
      '-c',
      `${tsf} tail --state ${join(work, 'tail-state')} ${log} 2>${join(work, 'tail.err')} | ${tsf} ship 127.0.0.1:${port} 2>${join(work, 'ship.err')}`,
    ],
    { stdio: 'ignore' },
  )
  const [code] = await once(agent, 'exit')
  if (code !== 0) {
    console.error(`the agent exited ${code}: ${readFileSync(join(work, 'ship.err'), 'utf8').slice(-500)}`)
    process.kill(collectPid, 'SIGTERM')
    process.exit(1)
  }
  wall = Number(process.hrtime.bigint() - started) / 1e9
} else wall = await sendBatches()

async function sendBatches() {
  const c = new WireConnection(
    { kind: 'tcp', host: '127.0.0.1', port, name: 'ab' },
    { gzip: false, connectTimeout: 60_000, ackTimeout: 600_000 },
  )
  let closing = false
  c.on('end', (error) => {
    if (error && !closing) {
      console.error(`connection ended: ${error.message}`)
      child.kill()
      process.exit(1)
    }
  })
  await c.open()
  const started = process.hrtime.bigint()
  await new Promise((resolve) => {
    let next = 0
    let acked = 0
    const pump = () => {
      while (next < batches.length && c.inFlight < 4)
        c.send({ seq: next, payload: batches[next++].payload, count: batches[next - 1].count, shares: [] })
    }
    c.on('ack', () => (++acked === batches.length ? resolve() : pump()))
    pump()
  })
  closing = true
  c.close()
  return Number(process.hrtime.bigint() - started) / 1e9
}
if (strace) {
  strace.kill('SIGINT')
  await once(strace, 'exit')
}
process.kill(collectPid, 'SIGTERM')
await once(child, 'exit')
const usage = (pid) => JSON.parse(readFileSync(join(work, `usage.${pid}.json`), 'utf8'))
const mine = usage(collectPid)
const rest = readdirSync(work)
  .filter((f) => f.startsWith('usage.') && f !== `usage.${collectPid}.json`)
  .map((f) => JSON.parse(readFileSync(join(work, f), 'utf8')))
const cpu = mine.user + mine.sys
console.log(
  JSON.stringify({
    collect: root,
    downstream: down,
    logMiB: +(logBytes / 2 ** 20).toFixed(1),
    wall: +wall.toFixed(2),
    collectCpu: +cpu.toFixed(2),
    collectUserSys: [+mine.user.toFixed(2), +mine.sys.toFixed(2)],
    cpuPerLogGiB: +(cpu / (logBytes / 2 ** 30)).toFixed(2),
    collectRssMiB: Math.round(mine.rssKiB / 1024),
    downstreamCpu: rest.map((r) => +(r.user + r.sys).toFixed(2)),
  }),
)
rmSync(work, { recursive: true, force: true })
