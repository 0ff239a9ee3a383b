import t from 'tap'
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs'
import { fixture, lines, pidOf, readNumber, sh, tmpdir, tsf, until } from '../../fixtures/procs.js'

// Real processes over real pipes: test/fixtures/link-writer.mjs emits numbered events and saves
// the highest number it may checkpoint; link-reader.mjs appends, fsyncs, then acks.
const W = fixture('link-writer.mjs')
const R = fixture('link-reader.mjs')
const exitOf = (path: string): number => Number(readFileSync(path, 'utf8').trim())

t.test('writer | reader: every event delivered, all of it checkpointed, both exit 0', async (t) => {
  const dir = tmpdir(t)
  const r = await sh(t, `${W} 20000 ck | ${R} out`, { cwd: dir }).done
  t.equal(r.code, 0, r.stderr)
  t.equal(readNumber(`${dir}/ck`), 20000)
  const out = lines(`${dir}/out`)
  t.equal(out.length, 20000)
  t.notOk(
    out.some((l) => l.includes('"_ack"')),
    'the reader got events without the cursor',
  )
  t.match(r.stderr, /mode acked unacked 0/)
})

t.test('a tsf reader that starts after the pipe filled up: the writer takes its link and delivers everything', async (t) => {
  const dir = tmpdir(t)
  // the reader starts once the writer's stdout waits for the pipe to drain: far more than the
  // pipe holds (64 KiB) written, as /proc counts it (node threw EEXIST then when the link came)
  // (without tap's NODE_OPTIONS: its process-info hook makes process.stdout early, hiding this)
  const cmd = `unset NODE_OPTIONS; ${W} 5000 ck --grace 60000 | (while [ ! -e go ]; do sleep 0.05; done; exec ${R} out)`
  const run = sh(t, cmd, { cwd: dir })
  const written = (): number => {
    try {
      return Number(/^wchar: (\d+)$/m.exec(readFileSync(`/proc/${pidOf(`${dir}/ck.pid`)}/io`, 'utf8'))?.[1] ?? 0)
    } catch {
      return 0 // not started yet
    }
  }
  await until(() => written() - run.stderr().length > 65536 - 4096 + 100, 60_000, 'the pipe to fill up', run.stderr)
  writeFileSync(`${dir}/go`, '')
  const r = await run.done
  t.equal(r.code, 0, r.stderr)
  t.notMatch(r.stderr, /EEXIST|\n\s+at /, 'no crash')
  t.equal(readNumber(`${dir}/ck`), 5000)
  t.equal(lines(`${dir}/out`).length, 5000)
})

t.test('reader killed -9 mid-stream: the checkpoint never passes what was durable, the writer exits 4', async (t) => {
  const dir = tmpdir(t)
  const run = sh(t, `{ ${W} 10000000 ck; echo $? > wexit; } | ${R} out --delay 5`, { cwd: dir })
  // the reader acks a batch after it wrote and synced it, so under load 2000 lines can be in
  // `out` with no ack at the writer yet: wait for a checkpoint too (it was a flake: checkpoint 0)
  await until(() => lines(`${dir}/out`).length > 2000 && readNumber(`${dir}/ck`) > 0, 20_000, 'the reader to get events and ack some')
  process.kill(pidOf(`${dir}/out.pid`), 'SIGKILL')
  await run.done
  const durable = lines(`${dir}/out`).length
  t.equal(exitOf(`${dir}/wexit`), 4, 'the writer failed its job')
  t.ok(readNumber(`${dir}/ck`) <= durable, `checkpoint ${readNumber(`${dir}/ck`)} <= durable ${durable}`)
})

t.test('writer killed -9 mid-stream: no half line reaches the reader, which exits 3', async (t) => {
  const dir = tmpdir(t)
  const run = sh(t, `${W} 10000000 ck --rate 5000 | { ${R} out; echo $? > rexit; }`, { cwd: dir })
  await until(
    () => lines(`${dir}/out`).length > 500,
    20_000,
    'the reader to get events',
    () => `${lines(`${dir}/out`).length} lines; ${run.stderr()}`,
  )
  process.kill(pidOf(`${dir}/ck.pid`), 'SIGKILL')
  await run.done
  t.equal(exitOf(`${dir}/rexit`), 3, `the reader reports the lost upstream: ${run.stderr()}`)
  const out = lines(`${dir}/out`)
  for (const line of out) JSON.parse(line)
  t.ok(out.length > 500)
})

t.test('a loss upstream travels down the whole pipeline: every later stage exits 3, none 0', async (t) => {
  const dir = tmpdir(t)
  const run = sh(t, `${W} 10000000 ck --rate 3000 | { ${tsf} channel --dir q; echo $? > cexit; } | { ${R} out; echo $? > rexit; }`, {
    cwd: dir,
  })
  await until(() => lines(`${dir}/out`).length > 300, 20_000, 'events through the channel', run.stderr)
  process.kill(pidOf(`${dir}/ck.pid`), 'SIGKILL')
  await run.done
  t.equal(exitOf(`${dir}/cexit`), 3, 'the channel reports the lost writer')
  t.equal(exitOf(`${dir}/rexit`), 3, `and so does the stage after it, so Restart=on-failure restarts the pipeline: ${run.stderr()}`)
  for (const line of lines(`${dir}/out`)) JSON.parse(line)
})

t.test('a writer killed -9 before its first event: the stages after it exit 3, none 0', async (t) => {
  // an idle `tsf collect | tsf channel | tsf roll` whose collect is killed: no cursor ever named
  // the writer, yet the pipeline must end non-zero for Restart=on-failure
  const dir = tmpdir(t)
  const run = sh(t, `${W} 0 ck --idle | { ${tsf} channel --dir q; echo $? > cexit; } | { ${R} out; echo $? > rexit; }`, { cwd: dir })
  // the channel knows the writer, and the reader knows the channel: from here on a death is seen
  await until(
    () => /writer w: introduced/.test(run.stderr()) && /reader: knows 1 writer/.test(run.stderr()),
    20_000,
    'each stage to know the one before it',
    run.stderr,
  )
  process.kill(pidOf(`${dir}/ck.pid`), 'SIGKILL')
  await run.done
  t.equal(exitOf(`${dir}/cexit`), 3, `the channel reports the lost writer: ${run.stderr()}`)
  t.equal(exitOf(`${dir}/rexit`), 3, `and so does the stage after it: ${run.stderr()}`)
  t.equal(lines(`${dir}/out`).length, 0)
})

t.test('an idle writer stopped on SIGTERM: the stages after it exit 0', async (t) => {
  const dir = tmpdir(t)
  const run = sh(
    t,
    `{ ${W} 0 ck --idle; echo $? > wexit; } | { ${tsf} channel --dir q; echo $? > cexit; } | { ${R} out; echo $? > rexit; }`,
    { cwd: dir },
  )
  await until(() => /writer w: introduced/.test(run.stderr()), 20_000, 'the writer to introduce itself to the channel', run.stderr)
  process.kill(pidOf(`${dir}/ck.pid`), 'SIGTERM')
  await run.done
  t.equal(exitOf(`${dir}/wexit`), 0)
  t.equal(exitOf(`${dir}/cexit`), 0, run.stderr())
  t.equal(exitOf(`${dir}/rexit`), 0, run.stderr())
})

t.test('| head -1 ends the writer quietly with 0', async (t) => {
  const dir = tmpdir(t)
  const r = await sh(t, `{ ${W} 1000000 ck; echo $? > wexit; } | head -1`, { cwd: dir }).done
  t.equal(r.stdout.split('\n').filter(Boolean).length, 1)
  t.equal(exitOf(`${dir}/wexit`), 0)
  t.notMatch(r.stderr, /EPIPE|Error/)
})

t.test('a non-tsf reader (cat > file): after the grace period, checkpoint on write, said once', async (t) => {
  const dir = tmpdir(t)
  const r = await sh(t, `${W} 3000 ck --grace 300 | cat > o`, { cwd: dir }).done
  t.equal(r.code, 0)
  t.equal(readNumber(`${dir}/ck`), 3000)
  t.equal(lines(`${dir}/o`).length, 3000)
  t.equal(r.stderr.match(/checkpointing on write/g)?.length, 1, r.stderr)
})

t.test('a writer that fills its window while deciding who reads it waits, and does not exit half way', async (t) => {
  const dir = tmpdir(t)
  // more than the window before the grace period ends: the writer must wait for the decision
  const r = await sh(t, `{ ${W} 5000 ck --grace 1500 --window 20000; echo $? > wexit; } | wc -l`, { cwd: dir }).done
  t.equal(r.stdout.trim(), '5000', 'every event written')
  t.equal(exitOf(`${dir}/wexit`), 0, r.stderr)
  t.equal(readNumber(`${dir}/ck`), 5000)
})

t.test('stdout a regular file: fsync then checkpoint', async (t) => {
  const dir = tmpdir(t)
  const r = await sh(t, `${W} 3000 ck > o`, { cwd: dir }).done
  t.equal(r.code, 0)
  t.equal(readNumber(`${dir}/ck`), 3000)
  t.match(r.stderr, /mode file unacked 0/)
})

t.test('a filter in the middle that drops most events: acks still advance, the writer stays end to end', async (t) => {
  const dir = tmpdir(t)
  // grep passes one event in a hundred and drops the last 50 entirely
  const r = await sh(t, `{ ${W} 2050 ck --grace 20000; echo $? > wexit; } | grep --line-buffered 'event [0-9]*00"' | ${R} out`, {
    cwd: dir,
  }).done
  t.equal(lines(`${dir}/out`).length, 20)
  t.equal(readNumber(`${dir}/ck`), 2000, 'events the filter dropped before a passed one are covered; the last 50 never are')
  t.match(r.stderr, /no acks for 2000 ms .* still end to end/, 'the silence is reported')
  t.notMatch(r.stderr, /best effort/, 'and never turned into best effort')
  t.match(r.stderr, /mode acked unacked 50/)
  t.equal(exitOf(`${dir}/wexit`), 1, 'what stays unacked is reported by the exit code')
})

t.test('a tsf reader that starts late: nothing is checkpointed before it acks', async (t) => {
  const dir = tmpdir(t)
  const run = sh(t, `${W} 100000 ck --grace 200 | ${R} out --start-after 1500`, { cwd: dir })
  const seen: number[] = []
  const sample = setInterval(() => lines(`${dir}/out`).length === 0 && seen.push(readNumber(`${dir}/ck`)), 50)
  const r = await run.done
  clearInterval(sample)
  t.equal(r.code, 0, r.stderr)
  t.ok(seen.length > 5, 'sampled while the reader was not yet reading')
  t.same([...new Set(seen)], [0], 'no checkpoint before the first ack')
  t.equal(readNumber(`${dir}/ck`), 100000)
})

t.test('a shell that execs into the tsf reader later still counts as a tsf reader', async (t) => {
  const dir = tmpdir(t)
  const r = await sh(t, `${W} 5000 ck --grace 200 | (sleep 1 </dev/null; exec ${R} out)`, { cwd: dir }).done
  t.equal(r.code, 0, r.stderr)
  t.notMatch(r.stderr, /checkpointing on write/)
  t.equal(readNumber(`${dir}/ck`), 5000)
})

t.test('two writers feeding one reader: both linked, both fully acked', async (t) => {
  const dir = tmpdir(t)
  // Each writer stays until the test saw all its events acked, then is stopped: ending on its own,
  // it gave its last acks 5 s (its shutdown timeout), and on a starved machine (load 30 on two
  // cores) the reader took longer, so a writer exited with its last events unacked (a flake).
  const run = sh(t, `{ ${W} 3000 a --tag a --idle & ${W} 3000 b --tag b --idle; wait; } | ${R} out`, { cwd: dir })
  await until(
    () => readNumber(`${dir}/a`) === 3000 && readNumber(`${dir}/b`) === 3000,
    60_000,
    'every event of both writers acked',
    () => `a ${readNumber(`${dir}/a`)}, b ${readNumber(`${dir}/b`)}; ${run.stderr()}`,
  )
  for (const w of ['a', 'b']) process.kill(pidOf(`${dir}/${w}.pid`), 'SIGTERM')
  const r = await run.done
  t.equal(r.code, 0, r.stderr)
  t.equal(readNumber(`${dir}/a`), 3000)
  t.equal(readNumber(`${dir}/b`), 3000)
  const out = lines(`${dir}/out`)
  t.equal(out.filter((l) => l.includes('"a event')).length, 3000, 'every event of writer a')
  t.equal(out.filter((l) => l.includes('"b event')).length, 3000, 'every event of writer b')
  t.equal(out.length, 6000, 'and nothing else')
  t.match(r.stderr, /another program writes into the same pipe/, 'each writer noticed the other and wrote whole lines')
})

// Whether anyone connected to a link socket the process `pid` listens on: a connection it has not
// accepted (it is stopped) shows in /proc/net/unix as one more socket of that name, with no inode.
const connectedTo = (pid: number): boolean => {
  const inodes = new Set<string>()
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`))
      if (m) inodes.add(m[1]!)
    } catch {
      // closed meanwhile
    }
  }
  // Num RefCount Protocol Flags Type St Inode Path; 00010000: listening
  const rows = readFileSync('/proc/net/unix', 'utf8')
    .split('\n')
    .slice(1)
    .map((l) => l.trim().split(/\s+/))
  const names = rows.filter((r) => r[3] === '00010000' && inodes.has(r[6]!) && r[7]?.startsWith('@tsf-link.')).map((r) => r[7])
  return names.some((name) => rows.filter((r) => r[7] === name).length > 1)
}

// The writer is killed -9 after the reader read its events and connected to its link socket, but
// before it answered HELLO (held stopped here; under load it is just slow): it accepted the
// connection, so it was alive, and its close without OK is a death, not an unreachable writer.
t.test("writer killed -9 before it answered the reader's HELLO: the reader still exits 3", async (t) => {
  const dir = tmpdir(t)
  const run = sh(t, `{ ${W} 10000000 ck; echo $? > wexit; } | { while [ ! -e go ]; do sleep 0.05; done; exec ${R} out; }`, { cwd: dir })
  // the writer filled the pipe before any reader (or its announce socket) existed
  const wchar = (): number => Number(/wchar: (\d+)/.exec(readFileSync(`/proc/${pidOf(`${dir}/ck.pid`)}/io`, 'utf8'))?.[1] ?? 0)
  await until(() => existsSync(`${dir}/ck.pid`) && wchar() > 32768, 20_000, 'the writer to fill the pipe')
  process.kill(pidOf(`${dir}/ck.pid`), 'SIGSTOP')
  writeFileSync(`${dir}/go`, '')
  await until(() => lines(`${dir}/out`).length > 0, 20_000, 'the reader to take the events')
  // and connected: it may take a wide pipe's events before it connects (killed before that, the
  // writer cannot be told from a replayed capture: docs/protocol.md, "A writer killed before it answered")
  await until(() => connectedTo(pidOf(`${dir}/ck.pid`)), 20_000, 'the reader to connect to the link socket')
  process.kill(pidOf(`${dir}/ck.pid`), 'SIGKILL')
  const r = await run.done
  t.equal(r.code, 3, `the reader noticed its writer died: ${r.stderr}`)
  t.match(r.stderr, /went away without a clean end/)
})

t.test('a cursor with a wrong nonce is refused (NO), not taken for a writer that died: the reader exits 0', async (t) => {
  const dir = tmpdir(t)
  const writer = sh(t, `exec ${W} 1 ck --idle > wout`, { cwd: dir })
  await until(() => lines(`${dir}/wout`).length === 1, 20_000, "the writer's event")
  const cursor = /"_ack":"([^.]+)\./.exec(lines(`${dir}/wout`)[0]!)![1]
  writeFileSync(`${dir}/forged`, `{"body":"x","_ack":"${cursor}.AAAAAAAAAAAAAAAA.1"}\n`)
  const r = await sh(t, `${R} out < forged`, { cwd: dir }).done
  t.equal(r.code, 0, r.stderr)
  t.equal(lines(`${dir}/out`).length, 1, 'the line is kept, unlinked')
  process.kill(pidOf(`${dir}/ck.pid`), 'SIGTERM')
  await writer.done
})
