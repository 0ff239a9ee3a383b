import t from 'tap'
import { chmodSync, mkdirSync, statSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { privateCacheDir } from '../../src/core/compile-cache-dir.js'

// The compile cache's directory is ours alone, or there is none: a directory of that name made
// first by someone else (here: opened to everyone, or a link) must not be used.
const inTmp = (t: Parameters<Parameters<typeof t.test>[1]>[0], fn: (dir: string, name: string) => void) => {
  const dir = t.testdir()
  const saved = process.env.TMPDIR
  process.env.TMPDIR = dir
  t.teardown(() => {
    if (saved === undefined) delete process.env.TMPDIR
    else process.env.TMPDIR = saved
  })
  fn(dir, join(dir, `tsf-compile-cache-${process.getuid!()}`))
}

t.test('made for us, mode 0700', async (t) =>
  inTmp(t, (_dir, name) => {
    t.equal(privateCacheDir(), name)
    t.equal(statSync(name).mode & 0o777, 0o700)
    t.equal(privateCacheDir(), name, 'and used again next time')
  }),
)

t.test('a directory of that name open to others is not used', async (t) =>
  inTmp(t, (_dir, name) => {
    mkdirSync(name)
    chmodSync(name, 0o777)
    t.equal(privateCacheDir(), undefined)
  }),
)

t.test('a link of that name is not followed', async (t) =>
  inTmp(t, (dir, name) => {
    mkdirSync(join(dir, 'elsewhere'), { mode: 0o700 })
    symlinkSync(join(dir, 'elsewhere'), name)
    t.equal(privateCacheDir(), undefined)
  }),
)
