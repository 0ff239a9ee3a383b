// After a restart tail finds its files by identity, never by path: rotated while it was down,
// adopted and rotated before the first ack, rewritten under a checkpoint, an inode reused.
import t from 'tap'
import type * as Tap from 'tap'
import { appendFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { events, numbered, pidIn, run, sh, text, until, tsf } from '../../fixtures/tail-procs.js'

interface State {
  files: { src: string; seq: number; pos: number; ino: number; dev: number; path: string; released?: number }[]
}
const state = (dir: string): State => JSON.parse(text(`${dir}/st/checkpoints.json`) || '{"files":[]}') as State

t.test('a file rotated while tail was down is found among its siblings and finished before the new one', async (t) => {
  const dir = t.testdir({ 'app.log': numbered('old', 0, 100), 'app.log-20261120': numbered('older', 0, 5) })
  t.equal(run(`${tsf} tail app.log --state st > out1`, dir).code, 0)
  const src = events(`${dir}/out1`)[0]!.src
  appendFileSync(`${dir}/app.log`, numbered('old', 100, 150))
  renameSync(`${dir}/app.log`, `${dir}/app.log-20261121`)
  writeFileSync(`${dir}/app.log`, numbered('new', 0, 30))
  const r = run(`${tsf} tail app.log --state st > out2`, dir)
  t.equal(r.code, 0, r.stderr)
  t.match(r.stderr, /app\.log-20261121: found .*app\.log here \(rotated while tail was down\); finishing it from offset/)
  const out = events(`${dir}/out2`)
  t.same(
    out.map((e) => e.body),
    [...Array.from({ length: 50 }, (_, i) => `old ${100 + i}`), ...Array.from({ length: 30 }, (_, i) => `new ${i}`)],
    'the rest of the rotated file first, then the new one; the older sibling untouched',
  )
  t.ok(
    out.slice(0, 50).every((e) => e.src === src),
    'the rotated file continues its stream',
  )
  t.same(
    out.slice(0, 2).map((e) => e.seq),
    [101, 102],
  )
  t.ok(out.slice(50).every((e) => e.src !== src && e.headers.file === `${dir}/app.log`))
})

t.test('a file adopted and rotated away before its first ack is still found and finished', async (t) => {
  const dir = t.testdir({ 'app.log': numbered('a', 0, 20) })
  // stdout read by a non-tsf reader: nothing is checkpointed within the grace period
  sh(t, `${tsf} tail -F app.log --state st 2>tail.err & echo $! > tail.pid; wait`, { cwd: dir })
  await until(() => state(dir).files.length === 1, 10_000, 'the src to be recorded')
  const before = state(dir).files[0]!
  process.kill(pidIn(`${dir}/tail.pid`), 'SIGKILL')
  t.equal(before.seq, 0, 'recorded before any ack')
  renameSync(`${dir}/app.log`, `${dir}/app.log.1`)
  writeFileSync(`${dir}/app.log`, numbered('b', 0, 3))
  const r = run(`${tsf} tail app.log --state st > out`, dir)
  t.equal(r.code, 0, r.stderr)
  const out = events(`${dir}/out`)
  t.same(
    out.map((e) => e.body),
    [...Array.from({ length: 20 }, (_, i) => `a ${i}`), 'b 0', 'b 1', 'b 2'],
  )
  t.ok(
    out.slice(0, 20).every((e) => e.src === before.src),
    'with the src recorded before its first event',
  )
  t.same(
    out.slice(0, 20).map((e) => e.seq),
    Array.from({ length: 20 }, (_, i) => i + 1),
  )
})

t.test('a file truncated and regrown past the checkpoint while tail was down is read again from 0, said on stderr', async (t) => {
  const dir = t.testdir({ 'app.log': numbered('x', 0, 300) })
  t.equal(run(`${tsf} tail app.log --state st > out1`, dir).code, 0)
  const first = events(`${dir}/out1`)
  // same inode, same first 1024 bytes, different bytes just before the checkpoint, and longer
  writeFileSync(`${dir}/app.log`, numbered('x', 0, 250) + numbered('y', 250, 600))
  const r = run(`${tsf} tail app.log --state st > out2`, dir)
  t.equal(r.code, 0, r.stderr)
  t.match(r.stderr, /app\.log: truncated or rewritten .*reading it from the start as a new stream/)
  const out = events(`${dir}/out2`)
  t.equal(out.length, 600, 'nothing skipped')
  t.not(out[0]!.src, first[0]!.src, 'a new stream')
  t.equal(out[0]!.seq, 1)
})

t.test('an inode reused by a different file is not mistaken for the old one', async (t) => {
  const dir = t.testdir({ 'a.log': numbered('first', 0, 200) })
  t.equal(run(`${tsf} tail a.log --state st > out1`, dir).code, 0)
  const old = statSync(`${dir}/a.log`)
  unlinkSync(`${dir}/a.log`)
  // most filesystems hand the freed inode to the next new file; try a few times
  let reused = false
  for (let i = 0; i < 50 && !reused; i++) {
    writeFileSync(`${dir}/a.log`, numbered('second', 0, 400))
    reused = statSync(`${dir}/a.log`).ino === old.ino && statSync(`${dir}/a.log`).dev === old.dev
    if (!reused) {
      writeFileSync(`${dir}/hold${i}`, '') // take this inode out of the way
      unlinkSync(`${dir}/a.log`)
    }
  }
  if (!reused) {
    writeFileSync(`${dir}/a.log`, numbered('second', 0, 400))
    // the filesystem did not reuse it: make the state describe the new file's inode instead
    const st = state(dir)
    const now = statSync(`${dir}/a.log`)
    st.files[0]!.ino = now.ino
    st.files[0]!.dev = now.dev
    writeFileSync(`${dir}/st/checkpoints.json`, JSON.stringify(st))
    t.comment('inode not reused by the filesystem: simulated in the state')
  }
  const r = run(`${tsf} tail a.log --state st > out2`, dir)
  t.equal(r.code, 0, r.stderr)
  const out = events(`${dir}/out2`)
  t.equal(out.length, 400, 'the new file read from 0')
  t.equal(out[0]!.body, 'second 0')
  t.not(out[0]!.src, events(`${dir}/out1`)[0]!.src)
})

t.test('the state: one lock per state dir, an agent id kept across runs, no tmp left behind', async (t) => {
  const dir = t.testdir({ 'a.log': 'x\n', 'b.log': 'y\n' })
  const p = sh(t, `${tsf} tail -F a.log --state st 2>tail.err >/dev/null & echo $! > tail.pid; wait`, { cwd: dir })
  await until(() => state(dir).files.length === 1, 10_000, 'tail to start')
  const r = run(`${tsf} tail b.log --state st > out`, dir)
  t.equal(r.code, 1)
  t.match(r.stderr, /--state st is in use by another tsf tail \(pid \d+\)/)
  const agent = text(`${dir}/st/agent-id`).trim()
  process.kill(pidIn(`${dir}/tail.pid`), 'SIGKILL')
  await p.done
  const r2 = run(`${tsf} tail b.log --state st > out`, dir)
  t.equal(r2.code, 0, `a lock left by a dead tail is taken over: ${r2.stderr}`)
  t.equal(text(`${dir}/st/agent-id`).trim(), agent)
  t.ok(events(`${dir}/out`)[0]!.src.startsWith(`${agent}.`), 'src = agent id + random id')
  t.notOk(text(`${dir}/st/checkpoints.json.tmp`), 'no tmp file left')
})

t.test('without --state, each distinct set of paths gets its own state under $XDG_STATE_HOME/tsf', async (t) => {
  const dir = t.testdir({ 'a.log': 'x\n', 'b.log': 'y\n', 'c.log': 'z\n' })
  const env = `XDG_STATE_HOME=${dir}/xdg`
  t.equal(run(`${env} ${tsf} tail a.log > o1`, dir).code, 0)
  t.equal(run(`${env} ${tsf} tail a.log > o2`, dir).code, 0)
  t.equal(run(`${env} ${tsf} tail c.log > o3`, dir).code, 0)
  t.equal(events(`${dir}/o1`).length, 1)
  t.equal(events(`${dir}/o2`).length, 0, 'the same paths find their checkpoints')
  t.equal(events(`${dir}/o3`).length, 1, 'another set of paths is another state')
})

// Changing the list of paths used to read every file again as new streams (duplicates no sink
// can remove): a file checkpointed under another default state makes tail refuse, saying which.
t.test('without --state, a changed path list with an already-read file refuses with the --state to pass', async (t) => {
  const dir = t.testdir({ 'a.log': 'x\n', 'b.log': 'y\n' })
  const env = `XDG_STATE_HOME=${dir}/xdg`
  t.equal(run(`${env} ${tsf} tail a.log > o1`, dir).code, 0)
  const r = run(`${env} ${tsf} tail b.log a.log > o2`, dir)
  t.equal(r.code, 2)
  const m =
    /^tsf tail: error: .*\/a\.log was read before by a tail of other paths \(its checkpoints are in (\S+)\): pass --state \1 to continue from them, or --state with a new directory to read it again as new streams\n$/.exec(
      r.stderr,
    )
  t.ok(m, r.stderr)
  t.equal(events(`${dir}/o2`).length, 0, 'nothing read twice')
  t.equal(run(`${env} ${tsf} tail b.log a.log --state ${m![1]} > o3`, dir).code, 0)
  t.same(
    events(`${dir}/o3`).map((e) => e.body),
    ['y'],
    'with that --state only the new file is read',
  )
})

// Run tail with stdout read by a non-tsf command (nothing checkpointed within the grace period),
// wait until `ready` holds, then kill -9 it.
const killedBeforeAck = async (t: Tap.Test, dir: string, args: string, ready: () => boolean): Promise<void> => {
  sh(t, `{ ${tsf} tail ${args} --state st 2>tail.err & echo $! > tail.pid; wait; } | cat > /dev/null`, { cwd: dir })
  await until(ready, 10_000, 'tail to get there', () => text(`${dir}/st/checkpoints.json`))
  process.kill(pidIn(`${dir}/tail.pid`), 'SIGKILL')
}

t.test('an unterminated last line emitted but not acked ends at the same place after a restart', async (t) => {
  const dir = t.testdir({ 'a.log': 'one\npartial' })
  await killedBeforeAck(t, dir, 'a.log', () => /"cuts":\[11\]/.test(text(`${dir}/st/checkpoints.json`)))
  t.equal(state(dir).files[0]!.seq, 0, 'not acked')
  appendFileSync(`${dir}/a.log`, ' more\nnext\n')
  const r = run(`${tsf} tail a.log --state st > out`, dir)
  t.equal(r.code, 0, r.stderr)
  const out = events(`${dir}/out`)
  t.same(
    out.map((e) => [e.body, e.seq]),
    [
      ['one', 1],
      ['partial', 2],
      [' more', 3],
      ['next', 4],
    ],
    'seq 2 is the same event as before, the rest is not lost to dedupe',
  )
  t.notOk((state(dir).files[0] as { cuts?: number[] }).cuts, 'the cut is dropped once the checkpoint passed it')
})

t.test('a multi-line event flushed by its timeout but not acked ends at the same place after a restart', async (t) => {
  const dir = t.testdir({ 'app.log': '1 a\n  x\n' })
  await killedBeforeAck(t, dir, "-F app.log --multiline-start '^\\d' --multiline-timeout 100ms", () =>
    /"cuts":\[8\]/.test(text(`${dir}/st/checkpoints.json`)),
  )
  appendFileSync(`${dir}/app.log`, '  y\n2 b\n')
  const r = run(`${tsf} tail app.log --state st --multiline-start '^\\d' > out`, dir)
  t.equal(r.code, 0, r.stderr)
  t.same(
    events(`${dir}/out`).map((e) => [e.body, e.seq]),
    [
      ['1 a\n  x', 1],
      ['  y', 2],
      ['2 b', 3],
    ],
  )
})
