import t from 'tap'
import { sh } from '../fixtures/procs.js'
import { ended, killGroup, stderrSays, tsf } from './helpers.js'

t.test('a second writer on the same dir is refused, and kill -9 leaves no stale lock', async (t) => {
  const dir = t.testdir()
  const first = sh(t, `echo $$ > ${dir}/pid; exec sleep 60 | ${tsf} channel --dir ${dir}/q > /dev/null`)
  await stderrSays(first, /ready/)
  const second = await ended(sh(t, `${tsf} channel --dir ${dir}/q < /dev/null > /dev/null`))
  t.equal(second.code, 1)
  t.match(second.stderr, /q: another tsf channel is already writing to it \(pid \d+\)/)
  t.notMatch(second.stderr, /at .*\.js:\d+/, 'no stack trace')
  // a second reader with the same name is refused too; another name is fine
  const sameReader = await ended(sh(t, `${tsf} channel --dir ${dir}/q --read-only > /dev/null`))
  t.equal(sameReader.code, 1)
  t.match(sameReader.stderr, /already reading it as reader 'default'/)
  killGroup(first, 'SIGKILL')
  await ended(first)
  const third = await ended(sh(t, `${tsf} channel --dir ${dir}/q < /dev/null > /dev/null`))
  t.equal(third.code, 0, third.stderr)
})

t.test('usage errors exit 2 with one line', async (t) => {
  for (const args of [
    '',
    '--dir q --when-full nope',
    '--dir q --fsync 5x',
    '--dir q --max-size 12Q',
    '--dir q --reader a --reader b',
    '--dir q --reader "a b"',
  ]) {
    const r = await ended(sh(t, `${tsf} channel ${args} < /dev/null`))
    t.equal(r.code, 2, `${args}: ${r.stderr}`)
    t.equal(r.stderr.trim().split('\n').length, 1, `${args}: one line`)
  }
})
