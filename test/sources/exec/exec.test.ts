import { mkdtempSync, readdirSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t from 'tap'
import { fixture, sh, tsf, until } from '../../fixtures/procs.js'
import { events, pidBelow } from '../spool/fixtures/spool-helpers.js'

const reader = fixture('link-reader.mjs')
const scratch = (): string => mkdtempSync(join(tmpdir(), 'tsf-exec-'))
const rss = (pid: number): number => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024

t.test('every stdout line is an event with a src per run and seq; a non-zero exit is logged and exits 1', async (t) => {
  const base = scratch()
  const out = join(base, 'out')
  const r = await sh(
    t,
    `{ ${tsf} exec -H app=demo --host h1 -- sh -c 'echo one; printf "two\\ttab\\n"; printf "no newline"; exit 7'; echo $? > ${base}/rc; } | ${reader} ${out}`,
  ).done
  t.equal(r.code, 0, 'the reader ends cleanly')
  t.equal(readFileSync(join(base, 'rc'), 'utf8').trim(), '1', 'exec exits 1 when the command failed')
  t.match(r.stderr, /exited with code 7 after 3 events/)
  const evs = events(out)
  t.same(
    evs.map((e) => e.body),
    ['one', 'two\ttab', 'no newline'],
  )
  t.same(
    evs.map((e) => e.seq),
    [1, 2, 3],
  )
  t.equal(new Set(evs.map((e) => e.src)).size, 1)
  for (const e of evs) t.match(e, { host: 'h1', headers: { app: 'demo' } })
})

t.test('--stderr makes stderr lines events marked stream=stderr', async (t) => {
  const base = scratch()
  const out = join(base, 'out')
  const r = await sh(t, `${tsf} exec --stderr -- sh -c 'echo to-out; echo to-err >&2' | ${reader} ${out}`).done
  t.equal(r.code, 0)
  const evs = events(out)
  t.same(evs.map((e) => [e.body, e.headers?.stream]).sort(), [
    ['to-err', 'stderr'],
    ['to-out', 'stdout'],
  ])
  t.notMatch(r.stderr, /^to-err$/m, 'not passed through as well')
})

t.test('--restart starts the command again after --restart-delay; exits are logged and counted', async (t) => {
  const base = scratch()
  const out = join(base, 'out')
  const run = sh(t, `${tsf} exec --restart --restart-delay 200ms --metrics 127.0.0.1:0 -- sh -c 'echo run; exit 3' | ${reader} ${out}`)
  await until(() => (run.stderr().match(/exited with code 3/g) ?? []).length >= 3, 30_000, 'three runs', run.stderr)
  const port = Number(/metrics on http:\/\/127\.0\.0\.1:(\d+)/.exec(run.stderr())![1])
  const metrics = (await (await fetch(`http://127.0.0.1:${port}/metrics.json`)).json()) as { exec: Record<string, number> }
  t.ok(metrics.exec.ChildExitCount! >= 3, `ChildExitCount ${metrics.exec.ChildExitCount}`)
  t.ok(metrics.exec.ChildFailureCount! >= 3)
  t.match(run.stderr(), /restarting in 200 ms/)
  const exec = pidBelow(run.child.pid!, 'exec')!
  process.kill(exec, 'SIGTERM')
  const r = await run.done
  t.equal(r.code, 0, 'SIGTERM: a clean end')
  const evs = events(out)
  t.ok(evs.length >= 3)
  t.ok(
    evs.every((e) => e.body === 'run' && e.seq === 1),
    'each run starts its own stream at seq 1',
  )
  t.equal(new Set(evs.map((e) => e.src)).size, evs.length, 'a src per run')
})

t.test('SIGTERM reaches the command; what it prints while stopping is still delivered; exit 0', async (t) => {
  const base = scratch()
  const out = join(base, 'out')
  const run = sh(t, `${tsf} exec -- sh -c 'trap "echo got TERM; exit 0" TERM; echo ready; while :; do sleep 0.1; done' | ${reader} ${out}`)
  await until(() => events(out).some((e) => e.body === 'ready'), 30_000, 'the command to start', run.stderr)
  process.kill(pidBelow(run.child.pid!, 'exec')!, 'SIGTERM')
  const r = await run.done
  t.equal(r.code, 0)
  t.same(
    events(out).map((e) => e.body),
    ['ready', 'got TERM'],
  )
  t.match(r.stderr, /exited with code 0 after 2 events/)
})

t.test('a command that ignores SIGTERM is killed after --kill-after', async (t) => {
  const base = scratch()
  const out = join(base, 'out')
  const run = sh(t, `${tsf} exec --kill-after 300ms -- sh -c 'trap "" TERM; echo ready; while :; do sleep 0.1; done' | ${reader} ${out}`)
  await until(() => events(out).some((e) => e.body === 'ready'), 30_000, 'the command to start', run.stderr)
  process.kill(pidBelow(run.child.pid!, 'exec')!, 'SIGTERM')
  const r = await run.done
  t.equal(r.code, 0)
  t.match(r.stderr, /was killed by SIGKILL/)
})

t.test('a command flooding output into a slow downstream: reading pauses, nothing is lost, memory stays bounded', async (t) => {
  const base = scratch()
  const out = join(base, 'out')
  // the reader takes 64K at a time and sleeps 50 ms per batch: far slower than seq
  const run = sh(t, `${tsf} exec --window 256K -- seq 1 100000000 | ${reader} ${out} --delay 50`)
  await until(() => events(out).length > 20_000, 60_000, 'some of the flood to arrive', run.stderr)
  const exec = pidBelow(run.child.pid!, 'exec')!
  const samples: number[] = []
  for (let i = 0; i < 10; i++) {
    samples.push(rss(exec))
    await new Promise((r) => setTimeout(r, 200))
  }
  process.kill(exec, 'SIGTERM')
  const r = await run.done
  t.equal(r.code, 0, `a clean end (stderr: ${r.stderr.slice(-500)})`)
  const max = Math.max(...samples)
  t.ok(max < 200 * 1024 * 1024, `exec's RSS stayed bounded (max ${(max / 1024 / 1024).toFixed(0)} MiB)`)
  const bodies = events(out).map((e) => Number(e.body))
  t.ok(bodies.length > 20_000 && bodies.length < 100_000_000, `${bodies.length} lines delivered: seq was held back, not run to its end`)
  // seq killed by SIGTERM may leave its last line half written: that piece is delivered as it is
  const last = bodies.at(-1)!
  if (String(bodies.length).startsWith(String(last)) && last !== bodies.length) bodies.pop()
  const gaps = bodies
    .map((n, i) => [i + 1, n])
    .filter(([i, n]) => n !== i)
    .slice(0, 5)
  t.same(gaps, [], 'lines 1..N, none missing, none twice')
})

t.test('a command that cannot be started is one clear line and exit 1; usage errors exit 2', async (t) => {
  const missing = await sh(t, `${tsf} exec -- no-such-command-here`).done
  t.equal(missing.code, 1)
  t.match(missing.stderr, /cannot run no-such-command-here: command not found/)
  t.notMatch(missing.stderr, /\n\s+at /)
  const none = await sh(t, `${tsf} exec`).done
  t.equal(none.code, 2)
  const bad = await sh(t, `${tsf} exec --restart-delay often -- true`).done
  t.equal(bad.code, 2)
  t.match(bad.stderr, /--restart-delay: expected a duration/)
})

t.test('NUL bytes, control characters and invalid UTF-8 in the output are carried exactly', async (t) => {
  const base = scratch()
  const out = join(base, 'out')
  const r = await sh(t, `${tsf} exec -- printf 'a\\000b\\n\\033[1mbold\\n\\377\\376 raw\\n' | ${reader} ${out}`).done
  t.equal(r.code, 0, r.stderr)
  const evs = events(out) as unknown as { body: string; body64?: string }[]
  t.same(evs[0], { ...evs[0], body: 'a\u0000b' })
  t.equal(evs[1]!.body, '\u001b[1mbold')
  t.same(Buffer.from(evs[2]!.body64!, 'base64'), Buffer.from([0xff, 0xfe, 0x20, 0x72, 0x61, 0x77]))
})

t.test('when its tsf reader dies, exec exits 4 at once and the command goes with it', async (t) => {
  const base = scratch()
  const out = join(base, 'out')
  // the command keeps printing: a reader killed before it linked up is noticed on the next write
  const run = sh(
    t,
    `{ ${tsf} exec -- sh -c 'echo $$ > ${base}/child; echo ready; while :; do echo tick; sleep 0.2; done'; echo $? > ${base}/rc; } | ${reader} ${out}`,
  )
  await until(() => events(out).some((e) => e.body === 'ready'), 30_000, 'the command to start', run.stderr)
  const child = Number(readFileSync(join(base, 'child'), 'utf8'))
  // the reader has said it is a tsf reader (KNOWN on its announce socket): its death is a failure
  await until(() => /reader: knows 1 writer/.test(run.stderr()), 30_000, 'the reader to know exec', run.stderr)
  process.kill(pidBelow(run.child.pid!, 'link-reader.mjs')!, 'SIGKILL')
  await run.done
  t.equal(readFileSync(join(base, 'rc'), 'utf8').trim(), '4', 'exit 4: downstream lost')
  await until(() => !alive(child), 10_000, 'the command to be gone')
  t.pass('the command was terminated')
})

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

t.test('--shell runs the command line through /bin/sh', async (t) => {
  const base = scratch()
  const out = join(base, 'out')
  const r = await sh(t, `${tsf} exec --shell -- 'echo piped | tr a-z A-Z' | ${reader} ${out}`).done
  t.equal(r.code, 0)
  t.same(
    events(out).map((e) => e.body),
    ['PIPED'],
  )
})

t.test('SIGTERM with a downstream that takes nothing: exec ends after --shutdown-timeout and says what was not delivered', async (t) => {
  const base = scratch()
  const out = join(base, 'out')
  const run = sh(
    t,
    `{ ${tsf} exec --shutdown-timeout 1s -- seq 1 100000000; echo $? > ${base}/rc; } | ${reader} ${out} --start-after 600000`,
  )
  await until(() => /started seq/.test(run.stderr()), 30_000, 'the command to start', run.stderr)
  await new Promise((r) => setTimeout(r, 300))
  process.kill(pidBelow(run.child.pid!, 'exec')!, 'SIGTERM')
  const exited = (): boolean => {
    try {
      return readFileSync(join(base, 'rc'), 'utf8').length > 0
    } catch {
      return false
    }
  }
  await until(exited, 30_000, 'exec to exit', run.stderr)
  t.equal(readFileSync(join(base, 'rc'), 'utf8').trim(), '0')
  t.match(run.stderr(), /\d+ events not acked by the downstream within the shutdown timeout; a command cannot replay them/)
})

t.test('SIGTERM reaches what a --shell command started, not only the shell', async (t) => {
  const base = scratch()
  const out = join(base, 'out')
  // the shell forks sleep (it is not the last command, so the shell cannot exec it)
  const run = sh(t, `${tsf} exec --shell -- 'echo ready; sleep 3000; echo never' | ${reader} ${out}`)
  await until(() => events(out).some((e) => e.body === 'ready'), 30_000, 'the command to start', run.stderr)
  const exec = pidBelow(run.child.pid!, 'exec')!
  // the sleep the shell started (pidBelow finds node processes only): its parent is a child of exec
  const ppid = (pid: string | number): string => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]!
  }
  const sleepOf = (): number | undefined => {
    for (const p of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
      try {
        if (!readFileSync(`/proc/${p}/stat`, 'utf8').includes('(sleep)')) continue
        if (ppid(ppid(p)) === String(exec)) return Number(p)
      } catch {
        // gone meanwhile
      }
    }
    return undefined
  }
  let sleeper: number | undefined
  await until(() => (sleeper = sleepOf()) !== undefined, 30_000, 'the shell to start sleep', run.stderr)
  process.kill(exec, 'SIGTERM')
  const r = await run.done
  t.equal(r.code, 0, 'a clean end')
  const alive = (): boolean => {
    try {
      return !/^State:\s+Z/m.test(readFileSync(`/proc/${sleeper}/status`, 'utf8'))
    } catch {
      return false
    }
  }
  await until(() => !alive(), 30_000, "the shell's child to be gone", run.stderr)
  t.notOk(alive(), 'the sleep the shell started got the stop too')
  t.same(
    events(out).map((e) => e.body),
    ['ready'],
  )
})
