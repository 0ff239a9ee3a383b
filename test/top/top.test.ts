// tsf top against real collectors with real agents (tail -F | ship) connected: --json and --once
// for scripts, and the live view through a real terminal (tmux).
import { appendFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import t from 'tap'
import { closedPort, sh } from '../fixtures/procs.js'
import { until } from '../fixtures/tcp-helpers.js'
import { startAgent, startCollector, tsf } from './fleet-procs.js'

interface TopJson {
  collectors: { name: string; up: boolean; agents: number; error?: string; received: number }[]
  agents: {
    agent: string
    host: string
    collector: string
    connected: boolean
    reports: boolean
    lagBytes?: number
    pending?: number
    failovers?: number
    errors?: number
    lastError?: string
    accepted: number
    lastContactSeconds: number
  }[]
}

const topJson = (t: Tap.Test, args: string): Promise<{ code: number | null; view?: TopJson; stderr: string }> =>
  sh(t, `${tsf} top ${args} --once --json --interval 200ms`).done.then((r) => ({
    code: r.code,
    stderr: r.stderr,
    view: r.stdout ? (JSON.parse(r.stdout) as TopJson) : undefined,
  }))

const lines = (from: number, n: number): string => Array.from({ length: n }, (_, i) => `line ${from + i}\n`).join('')

t.test('--once --json: every collector, and every agent through the collector it sends to', async (t) => {
  const dir = t.testdir({})
  const c1 = await startCollector(dir, 'c1')
  const c2 = await startCollector(dir, 'c2')
  const a1 = await startAgent(dir, 'a1', `127.0.0.1:${c1.port}`, 21710)
  const a2 = await startAgent(dir, 'a2', `127.0.0.1:${c2.port}`, 21711)
  t.teardown(() => [a1, a2, c1, c2].forEach((p) => p.kill()))
  appendFileSync(join(dir, 'a1.log'), lines(0, 500))
  appendFileSync(join(dir, 'a2.log'), lines(0, 200))
  let view: TopJson | undefined
  // the agents report every 300ms: wait until both were heard with all their events
  for (let i = 0; i < 200; i++) {
    const r = await topJson(t, `${c1.metrics},${c2.metrics}`)
    view = r.view
    if (
      view &&
      view.agents.length === 2 &&
      view.agents.every((a) => a.reports && a.lagBytes === 0) &&
      view.agents.reduce((s, a) => s + a.accepted, 0) === 700
    )
      break
  }
  t.ok(view, 'a view')
  t.same(
    view!.collectors.map((c) => [c.name, c.up, c.agents]),
    [
      [c1.metrics, true, 1],
      [c2.metrics, true, 1],
    ],
  )
  const byCollector = new Map(view!.agents.map((a) => [a.collector, a]))
  t.equal(byCollector.get(c1.metrics)?.accepted, 500, 'agent 1 through collector 1')
  t.equal(byCollector.get(c2.metrics)?.accepted, 200, 'agent 2 through collector 2')
  for (const a of view!.agents) {
    t.equal(a.host, hostname())
    t.ok(a.connected && a.reports, 'connected, and reporting about itself')
    t.equal(a.lagBytes, 0, "its tail's lag, from the report")
    t.equal(a.pending, 0)
    t.equal(a.errors, 0)
    t.equal(a.failovers, 0)
  }

  // --filter and a collector that is not there
  const closed = await closedPort()
  const filtered = await topJson(t, `${c1.metrics} 127.0.0.1:${closed} --filter ${byCollector.get(c1.metrics)!.agent}`)
  t.equal(filtered.code, 0, 'one collector answered')
  t.same(
    filtered.view!.collectors.map((c) => c.up),
    [true, false],
  )
  t.match(filtered.view!.collectors[1]!.error, /connection refused/)
  t.same(
    filtered.view!.agents.map((a) => a.collector),
    [c1.metrics],
  )

  // an agent that dies stays listed, gone, with the time since it was last heard from
  a2.kill()
  await until(
    () => {
      const r = spawnSync('sh', ['-c', `${tsf} top ${c2.metrics} --once --json --interval 100ms`], { encoding: 'utf8' })
      const v = r.stdout ? (JSON.parse(r.stdout) as TopJson) : undefined
      return Boolean(v && v.agents.length === 1 && !v.agents[0]!.connected)
    },
    20_000,
    'the dead agent shown as gone',
  )
})

t.test('an agent whose destination is down shows its failover and last error', async (t) => {
  const dir = t.testdir({})
  const c1 = await startCollector(dir, 'c1')
  // the first destination refuses connections: traffic fails over to c1
  const agent = await startAgent(dir, 'a', `127.0.0.1:1,127.0.0.1:${c1.port}`, 21712, '--report-interval 300ms --max-penalty 200ms')
  t.teardown(() => [agent, c1].forEach((p) => p.kill()))
  appendFileSync(join(dir, 'a.log'), lines(0, 50))
  let view: TopJson | undefined
  for (let i = 0; i < 200; i++) {
    view = (await topJson(t, c1.metrics)).view
    if (view?.agents[0]?.reports && view.agents[0].accepted === 50 && view.agents[0].lastError) break
  }
  const a = view!.agents[0]!
  t.equal(a.accepted, 50)
  t.ok((a.errors ?? 0) >= 1, 'connection errors counted')
  t.match(a.lastError, /127\.0\.0\.1:1: connection refused/)
})

t.test("a stalled collector: its agent's reported lag keeps growing (reports do not wait behind batches)", async (t) => {
  t.setTimeout(240_000)
  const dir = t.testdir({})
  const c1 = await startCollector(dir, 'c1', true)
  const agent = await startAgent(dir, 'a', `127.0.0.1:${c1.port}`, 21713, '--report-interval 300ms')
  t.teardown(() => [agent, c1].forEach((p) => p.kill()))
  // far more than the collector's stdout, the sockets and ship's window hold: the collector stalls
  const log = join(dir, 'a.log')
  appendFileSync(log, lines(0, 2_000_000))
  const lagNow = async (): Promise<number> => (await topJson(t, c1.metrics)).view?.agents[0]?.lagBytes ?? 0
  // the lag once everything that can move has moved: five reports in a row agree (the pipes are
  // 1 MiB wide now, and under load two reports once agreed while acks still trickled in)
  let first = 0
  for (let i = 0, last = -1, same = 0; i < 300; i++) {
    const now = await lagNow()
    same = now > 0 && now === last ? same + 1 : 0
    last = now
    if (same >= 4) {
      first = now
      break
    }
  }
  t.ok(first > 0, `the stalled agent reports lag (${first} bytes)`)
  // appended while nothing moves: the next reports carry the larger lag
  const more = lines(2_000_000, 1000)
  appendFileSync(log, more)
  let later = first
  for (let i = 0; i < 100 && later < first + more.length; i++) later = await lagNow()
  t.equal(later, first + more.length, `the reported lag grew by what was appended (${first} -> ${later} bytes)`)
})

t.test('--once exits 1 when no collector answers; usage errors exit 2', async (t) => {
  const closed = await closedPort()
  const r = await sh(t, `${tsf} top 127.0.0.1:${closed} --once --interval 100ms`).done
  t.equal(r.code, 1)
  t.match(r.stdout, new RegExp(`127\\.0\\.0\\.1:${closed}\\s+DOWN .*connection refused`))
  t.notMatch(r.stderr, /\n\s+at /)
  const none = await sh(t, `${tsf} top`).done
  t.equal(none.code, 2)
  const bad = await sh(t, `${tsf} top c1:9100 --sort nope`).done
  t.equal(bad.code, 2)
  t.match(bad.stderr, /--sort: expected one of name, rate, lag, pending, backlog, errors, contact/)
})

// The live view in a real terminal: tmux gives top a pty of a known size.
const tmux = (...args: string[]): string => spawnSync('tmux', args, { encoding: 'utf8' }).stdout

t.test('on a terminal: redrawn in place, s changes the sort, q quits and restores the screen; NO_COLOR is plain', async (t) => {
  const dir = t.testdir({})
  const c1 = await startCollector(dir, 'c1')
  const agent = await startAgent(dir, 'a', `127.0.0.1:${c1.port}`, 21713)
  t.teardown(() => [agent, c1].forEach((p) => p.kill()))
  appendFileSync(join(dir, 'a.log'), lines(0, 10))
  for (const [session, env] of [
    [`tsf-top-colour-${process.pid}`, 'env -u NO_COLOR '],
    [`tsf-top-plain-${process.pid}`, 'NO_COLOR=1 '],
  ] as const) {
    t.teardown(() => tmux('kill-session', '-t', session))
    tmux(
      'new-session',
      '-d',
      '-s',
      session,
      '-x',
      '160',
      '-y',
      '30',
      `${env}${tsf} top ${c1.metrics} --interval 200ms; echo "top exited $?"; sleep 30`,
    )
    const screen = (escapes = false): string => tmux('capture-pane', '-p', ...(escapes ? ['-e'] : []), '-t', session)
    await until(
      () =>
        /collectors 1\/1 up\s+agents 1 connected/.test(screen()) &&
        new RegExp(`${hostname()}/\\d+ +${c1.metrics.replace(/\./g, '\\.')} +up`).test(screen()),
      30_000,
      () => `the view: ${screen()}`,
    )
    t.match(screen(), /sort: lag/)
    t.match(screen(), /^COLLECTOR\s+STATE\s+AGENTS/m, 'the collectors table')
    t.match(screen(), /^AGENT\s+VIA\s+STATE/m, 'the agents table')
    const coloured = /\x1b\[[0-9;]*m/.test(screen(true))
    t.equal(coloured, env.startsWith('env'), env.startsWith('NO_COLOR') ? 'NO_COLOR: no colour' : 'colour on a terminal')
    tmux('send-keys', '-t', session, 's')
    await until(
      () => /sort: pending/.test(screen()),
      10_000,
      () => `the sort changed: ${screen()}`,
    )
    tmux('send-keys', '-t', session, 'q')
    await until(
      () => /top exited 0/.test(screen()),
      10_000,
      () => `top to exit: ${screen()}`,
    )
    t.notMatch(screen(), /COLLECTOR/, 'the alternate screen is left: the shell screen is back')
  }
})
