import t from 'tap'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { readNumber, sh } from '../fixtures/procs.js'
import { ended, killGroup, linkReader, replayWriter, seqsIn, stderrSays, tsf, until } from './helpers.js'

// A nearly full disk, for real: a 4 MiB tmpfs (needs root; skipped where mounting is not
// allowed). --min-free 2M makes the channel stop taking input with room to spare, and resume
// once its reader has consumed segments it can delete.
t.test('the channel stops accepting before the disk is full and resumes when space frees', async (t) => {
  const dir = t.testdir()
  // outside the test dir, which tap removes before our teardown could unmount it
  const mnt = mkdtempSync(join(tmpdir(), 'tsf-channel-disk-'))
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt], { stdio: 'ignore' })
  } catch {
    rmdirSync(mnt)
    t.skip('cannot mount a small tmpfs here (not root, or no CAP_SYS_ADMIN)')
    return
  }
  t.teardown(() => {
    try {
      execFileSync('umount', ['-l', mnt], { stdio: 'ignore' })
      rmdirSync(mnt)
    } catch {
      // already gone
    }
  })
  const n = 30000 // about 3.5 MB of records: more than the 2 MiB above --min-free
  const writer = sh(
    t,
    `${replayWriter} ${n} ${dir}/cp --pad 40 | ${tsf} channel --dir ${mnt}/q --write-only --reader r --min-free 2M --segment-size 256K`,
  )
  await stderrSays(writer, /free space below --min-free 2\.0 MiB: holding input/, 30_000)
  t.ok(readNumber(`${dir}/cp`) < n, 'the writer is held')
  const df = execFileSync('df', ['-k', mnt], { encoding: 'utf8' }).trim().split('\n').at(-1)!.split(/\s+/)
  t.ok(Number(df[3]) >= 1500, `the file system still has room (${df[3]} KiB free)`)
  const reader = sh(t, `${tsf} channel --dir ${mnt}/q --read-only --reader r | ${linkReader} ${dir}/out`)
  const w = await ended(writer, 90_000)
  t.equal(w.code, 0, w.stderr)
  t.notMatch(w.stderr, /no space left/, 'never ran into ENOSPC')
  await until(() => seqsIn(`${dir}/out`).length >= n, 60_000, 'every event read')
  killGroup(reader)
  await ended(reader)
  t.same(
    seqsIn(`${dir}/out`),
    Array.from({ length: n }, (_, i) => i + 1),
    'all of them, in order, once',
  )
})
