import t from 'tap'
import { symlinkSync } from 'node:fs'
import { expand, globSegment } from '../../../src/sources/tail/paths.js'

t.test('glob segments as in the shell', async (t) => {
  t.ok(globSegment('*.log').test('app.log'))
  t.notOk(globSegment('*.log').test('.hidden.log'), 'a leading dot only explicitly')
  t.ok(globSegment('app.log.[0-9]').test('app.log.3'))
  t.notOk(globSegment('app.log.[!0-9]').test('app.log.3'))
  t.ok(globSegment('a?c').test('abc'))
  t.notOk(globSegment('a.c').test('abc'), 'dots are literal')
})

t.test('operands: files, globs with **, directories with rules; missing files and the dirs to watch', async (t) => {
  const dir = t.testdir({ a: { 'x.log': '', b: { 'y.log': '', c: { 'z.log': '' } } }, 'top.txt': '' })
  symlinkSync(`${dir}/top.txt`, `${dir}/link.log`)
  const g = expand([`${dir}/**/*.log`], { recurse: 0 })
  t.same(g.files.sort(), [`${dir}/a/b/c/z.log`, `${dir}/a/b/y.log`, `${dir}/a/x.log`, `${dir}/link.log`])
  t.ok(g.dirs.includes(`${dir}/a/b`))
  const d = expand([`${dir}/a`], { recurse: 1, exclude: /^y/ })
  t.same(d.files, [`${dir}/a/x.log`])
  t.same(d.dirs.sort(), [`${dir}/a`, `${dir}/a/b`])
  const m = expand([`${dir}/nope.log`], { recurse: 0 })
  t.same(m.missing, [`${dir}/nope.log`])
  t.same(m.dirs, [dir], 'its directory is watched for it to appear')
})
