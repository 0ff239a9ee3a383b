// widenPipe (pipe-size.ts) makes a pipe hold 1 MiB (or pipe-max-size): its reader sees the larger
// size. Without perl or python3 on the PATH the pipe stays as it was.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { root, sh, tmpdir } from '../fixtures/procs.js'
import { widenPipe } from '../../dist/core/pipe-size.js'

const hasPerl = spawnSync('perl', ['-e', '1']).status === 0
const maxSize = Math.min(1024 * 1024, Number(readFileSync('/proc/sys/fs/pipe-max-size', 'latin1')))
// a writer that widens its stdout pipe, then writes one line
const widening = `${process.execPath} --input-type=module -e "import { widenPipe } from '${root}dist/core/pipe-size.js'; console.error(await widenPipe(1)); console.log('x')"`
// reads the first line, prints the size of the pipe on its stdin (F_GETPIPE_SZ), then drains it
const sizeReader = `perl -e 'my $l = <STDIN>; print fcntl(STDIN, 1032, 0), "\\n"; 1 while <STDIN>'`

t.test('a writer widens its pipe: the reader sees the new size', { skip: !hasPerl && 'no perl to look at the pipe' }, async (t) => {
  const r = await sh(t, `${widening} | ${sizeReader}`).done
  t.equal(r.code, 0, r.stderr)
  t.equal(Number(r.stdout), maxSize)
  t.equal(Number(r.stderr), maxSize, 'and says so')
})

t.test('without a helper on the PATH the pipe keeps its size', { skip: !hasPerl && 'no perl' }, async (t) => {
  const r = await sh(t, `PATH=/nonexistent ${widening} | ${sizeReader}`).done
  t.equal(r.code, 0, r.stderr)
  t.equal(Number(r.stdout), 65536)
  t.equal(r.stderr.trim(), 'undefined')
})

t.test('widenPipe leaves what is not a pipe alone', async (t) => {
  const file = join(tmpdir(t), 'f')
  writeFileSync(file, '')
  t.equal(await widenPipe(Number.MAX_SAFE_INTEGER), undefined, 'a closed fd')
  const r = spawnSync(
    process.execPath,
    ['--input-type=module', '-e', `import { widenPipe } from '${root}dist/core/pipe-size.js'; console.error(String(await widenPipe(1)))`],
    { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' },
  )
  t.equal(r.stderr.trim(), 'undefined', '/dev/null')
})
