import t from 'tap'
import { spawnSync } from 'node:child_process'
import { existsSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { makeDirs, makeDirsSync } from '../../src/core/make-dirs.js'
import { root } from '../fixtures/procs.js'

for (const [name, make] of [
  ['makeDirsSync', async (d: string) => makeDirsSync(d)],
  ['makeDirs', makeDirs],
] as const) {
  t.test(`${name}: mkdir -p, the first directory it made, the errors of what cannot be made`, async (t) => {
    const dir = t.testdir({ file: 'x' })
    t.equal(await make(join(dir, 'a/b/c')), join(dir, 'a'), 'the first one made')
    t.ok(statSync(join(dir, 'a/b/c')).isDirectory())
    t.equal(await make(join(dir, 'a/b')), undefined, 'all there: nothing made')
    t.equal(await make(join(dir, 'a/b/d')), join(dir, 'a/b/d'))
    await t.rejects(make(join(dir, 'file')), { code: 'EEXIST' }, 'a file of that name')
    await t.rejects(make(join(dir, 'file/sub')), { code: 'ENOTDIR' }, 'a file on the way')
  })
}

// Under /proc mkdir answers ENOENT although the parent is there: node's recursive mkdir retried
// that for ever (in the main thread for the sync form: no signal could stop it).
t.test('where mkdir keeps answering ENOENT, an error, not a loop', { skip: !existsSync('/proc/self') && 'no /proc' }, async (t) => {
  t.throws(() => makeDirsSync('/proc/tsf-no-such/dir'), { code: 'ENOENT' })
  await t.rejects(makeDirs('/proc/tsf-no-such/dir'), { code: 'ENOENT' })
  for (const args of [
    ['roll', '/proc/tsf-no-such'],
    ['channel', '--dir', '/proc/tsf-no-such/q'],
    ['tail', '-F', '/dev/null', '--state', '/proc/tsf-no-such/st'],
  ]) {
    const r = spawnSync('node', [`${root}bin/tsf.js`, ...args], { input: '', encoding: 'utf8', timeout: 60_000 })
    t.equal(r.status, 1, `tsf ${args.join(' ')} exits 1 (not hung: ${r.signal ?? 'no signal'})`)
    t.match(r.stderr, /\/proc\/tsf-no-such: no such file or directory\n$/, 'with one line naming the path')
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace')
  }
})
