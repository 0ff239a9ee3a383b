import t from 'tap'
import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { CheckpointStore } from '../../../src/sources/tail/checkpoint-store.js'
import { fuzz, mutate, type Rng } from '../../fixtures/fuzz.js'
import { loadsOrRefuses } from '../../fixtures/state-files.js'

// tail's checkpoints.json truncated, bit-flipped, emptied or given a wrong shape: tail either
// loads entries that are all well formed, or refuses to start with one line naming the file.
// Never a TypeError in the middle of recovery, never a stack trace.

const bin = join(process.cwd(), 'bin/tsf.js')

// A state file as a real tail leaves it (one adopted file, read and acked to its end).
const realState = (dir: string): Buffer => {
  writeFileSync(join(dir, 'a.log'), 'one\ntwo\n')
  execFileSync('node', [bin, 'tail', '--state', join(dir, 'st'), join(dir, 'a.log')], { stdio: ['ignore', 'ignore', 'ignore'] })
  return readFileSync(join(dir, 'st/checkpoints.json'))
}

// A wrong value of a random type in place of one field of one entry (a wrong shape that is still JSON).
const reshaped = (rng: Rng, valid: Buffer): Buffer => {
  const state = JSON.parse(valid.toString()) as { files: Record<string, unknown>[] }
  const entry = state.files[0]!
  const field = rng.pick(Object.keys(entry))
  const value = rng.pick<unknown>([null, 'x', -1, 1.5, [], {}, true, 1e300, undefined])
  if (rng.bool(0.2)) state.files[0] = value as Record<string, unknown>
  else entry[field] = value
  return Buffer.from(JSON.stringify(state))
}

const wellFormed = (e: Record<string, unknown>): boolean =>
  typeof e.src === 'string' &&
  typeof e.path === 'string' &&
  typeof e.lastPath === 'string' &&
  typeof e.headHash === 'string' &&
  typeof e.markHash === 'string' &&
  [e.seq, e.pos, e.headLen, e.markLen].every((n) => Number.isSafeInteger(n) && (n as number) >= 0)

t.test('a damaged checkpoint file loads only well-formed entries, or is refused naming the file', async (t) => {
  const dir = t.testdir({})
  const valid = realState(dir)
  const st = join(dir, 'st')
  await fuzz(t, 'tail checkpoints damaged', { cases: 400 }, async (rng) => {
    const damaged = rng.bool(0.5) ? reshaped(rng, valid) : mutate(rng, valid)
    writeFileSync(join(st, 'checkpoints.json'), damaged)
    await loadsOrRefuses(
      st,
      'checkpoints.json',
      () => CheckpointStore.open(st),
      (s) => s.entries,
      wellFormed,
    )
  })
})

t.test('tail refuses a wrong-shaped checkpoint file in one line, without a stack trace', async (t) => {
  const dir = t.testdir({})
  realState(dir)
  const st = join(dir, 'st')
  for (const text of ['{"version":1,"files":[null]}', '{"version":1,"files":[{"dev":"x"}]}', '{"version":1,"files":[1,2]}']) {
    writeFileSync(join(st, 'checkpoints.json'), text)
    const run = spawnSync('node', [bin, 'tail', '--state', st, join(dir, 'a.log')], { encoding: 'utf8', timeout: 20_000 })
    t.equal(run.status, 1, `${text}: exit status`)
    t.equal(run.stdout, '', `${text}: nothing emitted`)
    const lines = run.stderr.trim().split('\n')
    t.match(lines[0], /^tsf tail: .*checkpoints\.json: entry 1 of \d+ is damaged/, `${text}: names the file and the entry`)
    t.notMatch(run.stderr, /\n\s+at /, `${text}: no stack trace`)
  }
  rmSync(join(st, 'checkpoints.json'))
})
