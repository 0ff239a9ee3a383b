// widenPipe (pipe-size.ts) makes a pipe hold 1 MiB (256 KiB for an unprivileged user, or
// pipe-max-size, or TSF_PIPE_SIZE): its reader sees the larger size. It never shrinks a pipe.
// Without perl or python3 on the PATH the pipe stays as it was.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { root, sh, tmpdir } from '../fixtures/procs.js'
import { wantedPipeSize, widenPipe } from '../../dist/core/pipe-size.js'

const hasPerl = spawnSync('perl', ['-e', '1']).status === 0
const pipeMax = Number(readFileSync('/proc/sys/fs/pipe-max-size', 'latin1'))
const maxSize = Math.min(wantedPipeSize(), pipeMax)
// a writer that widens its stdout pipe, then writes one line
const widening = `${process.execPath} --input-type=module -e "import { widenPipe } from '${root}dist/core/pipe-size.js'; console.error(await widenPipe(1)); console.log('x')"`
// the same, after something else made the pipe hold 2 MiB (root may; else as much as it may)
const widened = `perl -e 'fcntl(STDOUT, 1031, 2097152) || fcntl(STDOUT, 1031, ${pipeMax}); exec @ARGV' -- ${widening}`
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

t.test('TSF_PIPE_SIZE sets the size asked for; 0 leaves the pipe alone', { skip: !hasPerl && 'no perl' }, async (t) => {
  const r = await sh(t, `TSF_PIPE_SIZE=131072 ${widening} | ${sizeReader}`).done
  t.equal(Number(r.stdout), 131072, r.stderr)
  const off = await sh(t, `TSF_PIPE_SIZE=0 ${widening} | ${sizeReader}`).done
  t.equal(Number(off.stdout), 65536, off.stderr)
  t.equal(wantedPipeSize('x'), wantedPipeSize(), 'a size that is no number: the default')
})

t.test('a pipe already larger is never shrunk', { skip: !hasPerl && 'no perl' }, async (t) => {
  const r = await sh(t, `TSF_PIPE_SIZE=131072 ${widened} | ${sizeReader}`).done
  t.equal(r.code, 0, r.stderr)
  t.ok(Number(r.stdout) > 131072, `the pipe still holds ${r.stdout.trim()} bytes`)
  t.equal(Number(r.stderr), Number(r.stdout), 'and widenPipe says that size')
})

t.test('a helper that warns on stderr before its answer (a locale perl lacks) still counts', { skip: !hasPerl && 'no perl' }, async (t) => {
  const r = await sh(t, `LC_ALL=xx_XX.UTF-8 LANG=xx_XX.UTF-8 ${widening} | ${sizeReader}`).done
  t.equal(Number(r.stdout), maxSize, r.stderr)
  t.match(r.stderr, new RegExp(`${maxSize}\\s*$`), 'the size it got, not a failure')
})
