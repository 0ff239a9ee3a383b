import { spawn } from 'node:child_process'
import { fstatSync, readFileSync } from 'node:fs'

// A pipe holds 64 KiB by default: a stage writing events into one as fast as its reader takes them
// wakes that reader, and is woken by it, about every 20 KiB (the pipe is never far from full or
// empty), and each wake-up costs a read, a batch and an ack downstream. A larger pipe lets both
// sides move up to a whole read buffer at a time. Node cannot call fcntl(F_SETPIPE_SZ) itself (no
// binding for it in node 20, and no native addon here), but any process holding an end of the pipe
// may resize it for all: a one-line perl (or python3) run once with our stdout as its own does.
// Without either the pipe stays as it was. Only a writer does it: a reader's helper would show up
// as another program reading the pipe to the writer looking for its tsf reader (stdout-kind.ts),
// while a writer's helper is gone before the writer looks (we wait for it), and other writers of
// the same pipe already count it as shared.
// Called by the runtime's output() for every writer (not with TSF_PIPE_SIZE=0): it cut tail | ship
// by 15-25 % of CPU.

const F_SETPIPE_SZ = 1031
// the most an unprivileged process may ask for by default (/proc/sys/fs/pipe-max-size)
const WANT = 1024 * 1024

const helpers: [string, string[]][] = [
  ['perl', ['-e', `my $r = fcntl(STDOUT, ${F_SETPIPE_SZ}, 0 + $ARGV[0]); print STDERR (($r || 0) + 0)`]],
  [
    'python3',
    [
      '-I',
      '-S',
      '-c',
      `import fcntl,sys\ntry: sys.stderr.write(str(fcntl.fcntl(1, ${F_SETPIPE_SZ}, int(sys.argv[1]))))\nexcept OSError: sys.stderr.write('0')`,
    ],
  ],
]

// Makes the pipe on `fd` hold up to `want` bytes (at most pipe-max-size); resolves to the size it
// now holds, or undefined when fd is no pipe or no helper could resize it (a user over their pipe
// allowance, no perl or python3 on the machine). The caller waits for it before it looks at the
// pipe's holders; the helper is waited for without blocking (signals, a metrics scrape go on).
export const widenPipe = async (fd = 1, want = WANT): Promise<number | undefined> => {
  try {
    if (!fstatSync(fd).isFIFO()) return undefined
  } catch {
    return undefined
  }
  let size = want
  try {
    size = Math.min(want, Number(readFileSync('/proc/sys/fs/pipe-max-size', 'latin1')) || want)
  } catch {
    // not Linux, or no /proc: ask for what we want, the helper fails quietly if refused
  }
  for (const [command, args] of helpers) {
    const run = await helper(command, [...args, String(size)], fd)
    if (run === 'missing') continue
    return run > 0 ? run : undefined
  }
  return undefined
}

// Runs one helper with `fd` as its stdout: the size it reports, 0 if it failed, 'missing' if it
// could not be started.
const helper = (command: string, args: string[], fd: number): Promise<number | 'missing'> =>
  new Promise((resolve) => {
    let said = ''
    const child = spawn(command, args, { stdio: ['ignore', fd, 'pipe'], timeout: 5000 })
    child.stderr!.on('data', (d: Buffer) => (said += d.toString('latin1')))
    child.on('error', () => resolve('missing'))
    child.on('close', (code) => resolve(code === 0 ? Number(said) || 0 : 0))
  })
