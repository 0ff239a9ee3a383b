// Shared by the channel's process tests: the commands they run and what they check.
import { existsSync, readFileSync } from 'node:fs'
import { fixture, root, tsf, until, type Running } from '../fixtures/procs.js'

export { fixture, root, tsf, until }
export const replayWriter = `node ${root}test/channel/fixtures/replay-writer.mjs`
export const linkReader = fixture('link-reader.mjs')

// The `seq` of every whole event line in a reader's output file, in order (a line being written
// right now is not whole yet).
export const seqsIn = (path: string): number[] =>
  existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .slice(0, -1)
        .map((l) => (JSON.parse(l) as { seq: number }).seq)
    : []

// Which of 1..n never arrived.
export const missing = (seqs: number[], n: number): number[] => {
  const seen = new Set(seqs)
  const out: number[] = []
  for (let i = 1; i <= n; i++) if (!seen.has(i)) out.push(i)
  return out
}

export const stderrSays = (run: Running, pattern: RegExp, ms = 20_000): Promise<void> =>
  until(() => pattern.test(run.stderr()), ms, `stderr to match ${pattern}: ${run.stderr().slice(-300)}`)

// Bounded wait for a process to end.
export const ended = async (run: Running, ms = 30_000): Promise<Awaited<Running['done']>> => {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running after ${ms} ms; stderr: ${run.stderr().slice(-500)}`)), ms)
  })
  try {
    return await Promise.race([run.done, timeout])
  } finally {
    clearTimeout(timer)
  }
}

export const killGroup = (run: Running, signal: NodeJS.Signals = 'SIGTERM'): void => {
  try {
    process.kill(-run.child.pid!, signal)
  } catch {
    // gone already
  }
}
