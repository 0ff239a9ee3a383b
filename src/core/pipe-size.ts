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
const F_GETPIPE_SZ = 1032
// root: 1 MiB (the most an unprivileged process may ask for by default, /proc/sys/fs/pipe-max-size).
// Others: 256 KiB. Linux charges a pipe's buffer to the user who made it, and once a user's pipes
// hold pipe-user-pages-soft (64 MiB by default) every new pipe of that user, tsf's or not, gets
// 8 KiB: 1 MiB each reaches that at 64 pipes, 256 KiB at 256. Root is not limited.
const WANT = process.getuid?.() === 0 ? 1024 * 1024 : 256 * 1024

// TSF_PIPE_SIZE: bytes to ask for (0: leave the pipe as it is); unset, WANT
export const wantedPipeSize = (env = process.env.TSF_PIPE_SIZE): number => {
  if (env === undefined || env === '') return WANT
  const n = Number(env)
  return Number.isSafeInteger(n) && n >= 0 ? n : WANT
}

const helpers: [string, string[]][] = [
  // only ever grows the pipe (someone may have made it larger already); prints the size it holds
  [
    'perl',
    [
      '-e',
      `my $n = fcntl(STDOUT, ${F_GETPIPE_SZ}, 0) || 0; $n = fcntl(STDOUT, ${F_SETPIPE_SZ}, 0 + $ARGV[0]) || 0 if $n < $ARGV[0]; print STDERR "\n", $n + 0`,
    ],
  ],
  [
    'python3',
    [
      '-I',
      '-S',
      '-c',
      `import fcntl,sys\ntry:\n n=fcntl.fcntl(1,${F_GETPIPE_SZ})\n if n<int(sys.argv[1]): n=fcntl.fcntl(1,${F_SETPIPE_SZ},int(sys.argv[1]))\nexcept OSError: n=0\nsys.stderr.write('\\n'+str(n))`,
    ],
  ],
]

// Makes the pipe on `fd` hold up to `want` bytes (at most pipe-max-size); resolves to the size it
// now holds, or undefined when fd is no pipe or no helper could resize it (a user over their pipe
// allowance, no perl or python3 on the machine). The caller waits for it before it looks at the
// pipe's holders; the helper is waited for without blocking (signals, a metrics scrape go on).
export const widenPipe = async (fd = 1, want = wantedPipeSize()): Promise<number | undefined> => {
  if (want <= 0) return undefined
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
    // the last line: perl may warn first (a locale it lacks) and still have resized the pipe
    child.on('close', (code) => resolve(code === 0 ? Number(said.trim().split('\n').pop()) || 0 : 0))
  })
