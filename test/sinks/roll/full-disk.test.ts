import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { content, exactlyOnce, finalFiles, finalLines, inProgressFiles, readNumber, rollPid, sh, tsf, writer } from './fixtures/procs.js'

// A full disk, for real: roll writes into a 1 MiB tmpfs. It must stop acking (the writer keeps
// what is not written), never publish a half-written file, and carry on when space returns.
const N = 40_000

const mount = (dir: string): boolean => {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

t.test('a full disk stops the acks; when space returns roll carries on, exactly once', async (t) => {
  // outside tap's fixture dir: it must be unmounted before it is removed
  const base = mkdtempSync(join(tmpdir(), 'tsf-roll-full-'))
  const disk = join(base, 'disk')
  execFileSync('mkdir', [disk])
  t.teardown(() => rmSync(base, { recursive: true, force: true }))
  if (!mount(disk)) {
    t.skip('cannot mount a small tmpfs here (needs root): full-disk test not run')
    return
  }
  t.teardown(() => execFileSync('umount', ['-l', disk]))
  const out = join(disk, 'out')
  const ck = join(base, 'ck')
  const run = sh(t, `${writer} ${N} ${ck} --pad 40 --end-timeout 120000 | ${tsf} roll ${out} --size 128K`)
  await run.waitFor(/no space left on device/)

  // roll acked only what it had written: the 1 MiB disk holds far fewer than N events
  const acked = readNumber(ck)
  t.ok(acked < N, `acked ${acked} of ${N}`)
  const onDisk = [...finalLines(out), ...inProgressFiles(out).flatMap((f) => content(out, f).toString().split('\n'))]
  t.same(exactlyOnce(onDisk, 'stream-a', acked).missing, [], 'every acked event is on disk')
  for (const f of finalFiles(out)) {
    const bytes = content(out, f)
    t.equal(bytes.at(-1), 10, `${f} ends with a whole line`)
    t.same(exactlyOnce(bytes.toString().split('\n').slice(0, -1), 'stream-a', 0).other, [], `${f} holds only whole events`)
  }
  t.equal(run.child.exitCode, null, 'roll keeps running, retrying')

  execFileSync('mount', ['-o', 'remount,size=16m', disk])
  const done = await run.done
  t.equal(done.code, 0, run.stderr())
  t.match(run.stderr(), /writing again after/)
  t.equal(readNumber(ck), N)
  const { missing, duplicated, other } = exactlyOnce(finalLines(out), 'stream-a', N)
  t.same(missing, [], 'nothing lost')
  t.same(duplicated, [], 'nothing twice')
  t.same(other, [], 'nothing torn')
  t.same(inProgressFiles(out), [])
})

t.test('SIGTERM while the disk is full: roll leaves the rest to the upstream and a later run completes', async (t) => {
  const base = mkdtempSync(join(tmpdir(), 'tsf-roll-full-'))
  const disk = join(base, 'disk')
  execFileSync('mkdir', [disk])
  t.teardown(() => rmSync(base, { recursive: true, force: true }))
  if (!mount(disk)) {
    t.skip('cannot mount a small tmpfs here (needs root): full-disk test not run')
    return
  }
  t.teardown(() => execFileSync('umount', ['-l', disk]))
  const out = join(disk, 'out')
  const ck = join(base, 'ck')
  const pipeline = `${writer} ${N} ${ck} --pad 40 | ${tsf} roll ${out} --size 128K --shutdown-timeout 2s`
  const run = sh(t, pipeline)
  await run.waitFor(/no space left on device/)
  process.kill(rollPid(run.child)!, 'SIGTERM')
  await run.done
  t.match(run.stderr(), /events were not written \(no space left on device\); they stay unacked with the upstream/)
  const acked = readNumber(ck)
  t.ok(acked < N, `acked ${acked}`)

  execFileSync('mount', ['-o', 'remount,size=16m', disk])
  const again = sh(t, pipeline)
  t.equal((await again.done).code, 0, again.stderr())
  const { missing, duplicated, other } = exactlyOnce(finalLines(out), 'stream-a', N)
  t.same(missing, [], 'nothing lost')
  t.same(duplicated, [], 'nothing twice')
  t.same(other, [], 'nothing torn')
  t.same(inProgressFiles(out), [])
})
