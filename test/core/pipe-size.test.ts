// A stage writing events into a pipe widens it (pipe-size.ts): its reader sees the larger size.
// Without perl or python3 on the PATH the pipe stays as it was and the stage runs as before.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { root, sh, tmpdir, tsf } from '../fixtures/procs.js'
import { widenPipe } from '../../dist/core/pipe-size.js'

const hasPerl = spawnSync('perl', ['-e', '1']).status === 0
const maxSize = Math.min(1024 * 1024, Number(readFileSync('/proc/sys/fs/pipe-max-size', 'latin1')))
// reads the first line, prints the size of the pipe on its stdin (F_GETPIPE_SZ), then drains it
const sizeReader = `perl -e 'my $l = <STDIN>; print fcntl(STDIN, 1032, 0), "\\n"; 1 while <STDIN>'`

t.test('tsf tail writing into a pipe widens it', { skip: !hasPerl && 'no perl to look at the pipe' }, async (t) => {
  const dir = tmpdir(t)
  const log = join(dir, 'app.log')
  writeFileSync(log, 'one\ntwo\n')
  const r = await sh(t, `${tsf} tail --state ${join(dir, 'state')} ${log} | ${sizeReader}`).done
  t.equal(r.code, 0, r.stderr)
  t.equal(Number(r.stdout), maxSize)
})

t.test('without a helper on the PATH the pipe keeps its size, and the stage runs', { skip: !hasPerl && 'no perl' }, async (t) => {
  const dir = tmpdir(t)
  const log = join(dir, 'app.log')
  writeFileSync(log, 'one\ntwo\n')
  // node itself by its full path, nothing else findable
  const r = await sh(t, `PATH=/nonexistent ${process.execPath} ${root}bin/tsf.js tail --state ${join(dir, 'state')} ${log} | ${sizeReader}`)
    .done
  t.equal(r.code, 0, r.stderr)
  t.equal(Number(r.stdout), 65536)
})

t.test('widenPipe leaves what is not a pipe alone', async (t) => {
  const file = join(tmpdir(t), 'f')
  writeFileSync(file, '')
  t.equal(await widenPipe(Number.MAX_SAFE_INTEGER), undefined, 'a closed fd')
  const r = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', `import { widenPipe } from '${root}dist/core/pipe-size.js'; console.error(String(await widenPipe(1)))`],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      encoding: 'utf8',
    },
  )
  t.equal(r.stderr.trim(), 'undefined', '/dev/null')
})
