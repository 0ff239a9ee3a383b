import t from 'tap'
import { spawnSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { SpoolState } from '../../../src/sources/spool/state.js'
import { fuzz, mutate, type Rng } from '../../fixtures/fuzz.js'
import { loadsOrRefuses } from '../../fixtures/state-files.js'

// spool's spool.json truncated, bit-flipped, emptied or given a wrong shape: spool either loads
// entries that are all well formed, or refuses to start with one line naming the file.

const bin = join(process.cwd(), 'bin/tsf.js')

const validState = async (st: string): Promise<Buffer> => {
  const state = await SpoolState.open(st)
  for (let i = 0; i < 3; i++) {
    state.set({
      path: `/spool/f${i}.log`,
      dev: 64768,
      ino: 1000 + i,
      size: 4096,
      mtimeMs: 1796217091408.25,
      headHash: 'xwjX74QffhdIQ2uO9WcNCy3hoic',
      src: state.newSrc(),
      seq: 17 * i,
      pos: 300 * i,
    })
  }
  state.save()
  state.close()
  return readFileSync(join(st, 'spool.json'))
}

const reshaped = (rng: Rng, valid: Buffer): Buffer => {
  const state = JSON.parse(valid.toString()) as { files: Record<string, unknown>[] }
  const at = rng.int(0, state.files.length - 1)
  const value = rng.pick<unknown>([null, 'x', -1, 1.5, [], {}, true, 1e300, undefined])
  if (rng.bool(0.2)) state.files[at] = value as Record<string, unknown>
  else state.files[at]![rng.pick(Object.keys(state.files[at]!))] = value
  return Buffer.from(JSON.stringify(state))
}

const wellFormed = (e: Record<string, unknown>): boolean =>
  typeof e.src === 'string' &&
  typeof e.path === 'string' &&
  typeof e.headHash === 'string' &&
  [e.seq, e.pos, e.size].every((n) => Number.isSafeInteger(n) && (n as number) >= 0)

t.test('a damaged spool state loads only well-formed entries, or is refused naming the file', async (t) => {
  const st = join(t.testdir({}), 'st')
  const valid = await validState(st)
  await fuzz(t, 'spool state damaged', { cases: 400 }, async (rng) => {
    writeFileSync(join(st, 'spool.json'), rng.bool(0.5) ? reshaped(rng, valid) : mutate(rng, valid))
    await loadsOrRefuses(
      st,
      'spool.json',
      () => SpoolState.open(st),
      (s) => s.entries.values(),
      wellFormed,
    )
  })
})

t.test('spool refuses a wrong-shaped state in one line, without a stack trace', async (t) => {
  const dir = t.testdir({})
  const st = join(dir, 'st')
  mkdirSync(join(dir, 'in'))
  await validState(st)
  writeFileSync(
    join(st, 'spool.json'),
    '{"version":1,"files":[{"path":"/x","dev":1,"ino":2,"size":3,"mtimeMs":4,"headHash":"h","src":"s","seq":"7","pos":0}]}',
  )
  const run = spawnSync('node', [bin, 'spool', '--state', st, join(dir, 'in')], { encoding: 'utf8', timeout: 20_000 })
  t.equal(run.status, 1, 'exit status')
  t.equal(run.stdout, '', 'nothing emitted')
  t.match(
    run.stderr.trim().split('\n')[0],
    /^tsf spool: .*spool\.json: entry 1 of 1 is damaged \(field "seq"/,
    'names the file, the entry and the field',
  )
  t.notMatch(run.stderr, /\n\s+at /, 'no stack trace')
})
