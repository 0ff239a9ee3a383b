import t, { type Test } from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { LocalStorage } from '../../../src/sinks/roll/local-storage.js'
import { RangeSet } from '../../../src/sinks/roll/ranges.js'
import { RollState } from '../../../src/sinks/roll/state.js'
import { finalLines, inProgressFiles, sh, tsf } from './fixtures/procs.js'
import { isLocked } from '../../fixtures/dir-lock.js'
import { fuzz, mutate, type Rng } from '../../fixtures/fuzz.js'

// Roll's state files (the commit log and the snapshot) truncated, bit-flipped, emptied or given
// a wrong shape: roll either recovers every intact record and says in one line what it skipped,
// or refuses to start naming the file. Never a stack trace, never a silent loss, never a hang.

// A root as a roll killed mid-run leaves it: a snapshot, then a log of commits after it, three
// files in progress (one with bytes written after its last commit), one file already published.
const makeRoot = async (dir: string): Promise<{ committed: string[] }> => {
  const storage = new LocalStorage(dir)
  const state = new RollState(storage, 86_400_000)
  await state.load()
  const committed: string[] = []
  let seq = 0
  const files: { rel: string; data: string }[] = []
  for (let k = 0; k < 4; k++) {
    const rel = `d${k % 2}/f${k}-1.log.tmp`
    await state.opening(rel, `d${k % 2}/f${k}-1`, '.log')
    await storage.create(rel).then((f) => f.close())
    files.push({ rel, data: '' })
  }
  for (let j = 0; j < 12; j++) {
    const f = files[j % 4]!
    const lines = Array.from({ length: 3 }, (_, i) => `line-${j}-${i}`)
    f.data += lines.map((l) => l + '\n').join('')
    writeFileSync(join(dir, f.rel), f.data)
    committed.push(...lines)
    await state.commitBatch(new Map([[f.rel, Buffer.byteLength(f.data)]]), new Map([['s', new RangeSet([[seq + 1, seq + 3]])]]))
    seq += 3
    if (j === 3) await state.compact() // the records before this are in the snapshot
  }
  // one file published (its "final" and "closed" records in the log)
  await state.publishing(files[3]!.rel, 'd1/f3-1.log')
  await storage.publish(files[3]!.rel, 'd1/f3-1.log')
  await state.closed([files[3]!.rel])
  // written after the last commit: never acked
  writeFileSync(join(dir, files[0]!.rel), files[0]!.data + 'never-acked\n')
  await state.close()
  return { committed }
}

const stateFile = (dir: string, name: string): string => join(dir, '.tsf-roll', name)

interface Outcome {
  code: number | null
  stderr: string
  lines: string[]
}

const start = async (t: Test, dir: string): Promise<Outcome> => {
  const run = sh(t, `${tsf} roll ${dir} < /dev/null`)
  const done = await run.done
  return { code: done.code, stderr: run.stderr(), lines: finalLines(dir) }
}

// the rules every damaged start keeps
// `silentOk`: the damage looks exactly like an older, valid file (the log emptied or cut at a record
// boundary, as compaction and a crash leave it): nothing can tell, the commits after are undone.
const checkRules = (o: Outcome, committed: string[], damaged: string, dir: string, silentOk: boolean): void => {
  if (/\n\s+at .*:\d+/.test(o.stderr) || /TypeError|RangeError|SyntaxError/.test(o.stderr))
    throw new Error(`stack trace or crash: ${o.stderr}`)
  if (o.code !== 0) {
    const lines = o.stderr.trim().split('\n')
    if (o.code !== 1 || !lines.some((l) => l.includes(damaged)))
      throw new Error(`refused (exit ${o.code}) without naming ${damaged}: ${o.stderr}`)
    return
  }
  const got = new Set(o.lines)
  const lost = committed.filter((l) => !got.has(l))
  if (lost.length && !silentOk && !o.stderr.includes(damaged)) throw new Error(`lost ${lost.length} committed lines silently: ${o.stderr}`)
  if (o.lines.includes('never-acked') && !o.stderr.includes(damaged)) throw new Error('an unacked line was published and nothing was said')
  if (inProgressFiles(dir).length && !o.stderr.includes(damaged))
    throw new Error(`files left in progress silently: ${inProgressFiles(dir).join(' ')}`)
}

t.test('one flipped byte in the middle of the commit log: every committed line is kept, one line says what was skipped', async (t) => {
  const dir = t.testdir()
  const { committed } = await makeRoot(dir)
  const log = stateFile(dir, 'commits.log')
  const bytes = readFileSync(log)
  const lines = bytes.toString().split('\n')
  const middle = lines.slice(0, Math.floor(lines.length / 2)).join('\n').length + 12 // inside a record in the middle
  bytes[middle] ^= 0x04
  writeFileSync(log, bytes)
  const o = await start(t, dir)
  t.equal(o.code, 0, o.stderr)
  t.same(o.lines.filter((l) => l !== 'never-acked').sort(), [...committed].sort(), 'every committed, acked line is in a final file, once')
  if (o.lines.includes('never-acked'))
    t.match(o.stderr, /keep all their bytes \(some lines may be written twice, none lost\)/, 'bytes kept after a damaged record are said')
  t.match(o.stderr, /commits\.log: skipped 1 damaged record/)
  t.notMatch(o.stderr, /never acked\)/, 'committed lines are not called never acked')
  t.equal(o.stderr.split('\n').filter((l) => /commits\.log/.test(l)).length, 1, 'one line about it')
  t.same(inProgressFiles(dir), [])
  // the next start is clean: the damaged record went away with a snapshot
  const again = await start(t, dir)
  t.equal(again.code, 0)
  t.notMatch(again.stderr, /damaged/)
})

const damages = ['truncate', 'flip', 'empty', 'shape', 'mutate'] as const

const damage = (rng: Rng, bytes: Buffer, kind: (typeof damages)[number], name: string): Buffer => {
  switch (kind) {
    case 'truncate':
      return bytes.subarray(0, rng.int(0, Math.max(0, bytes.length - 1)))
    case 'flip': {
      const b = Buffer.from(bytes)
      if (b.length) b[rng.int(0, b.length - 1)] ^= 1 << rng.int(0, 7)
      return b
    }
    case 'empty':
      return Buffer.alloc(0)
    case 'shape':
      return Buffer.from(
        rng.pick(
          name === 'state.json'
            ? [
                '[]',
                'null',
                '{"c":"x","files":{},"streams":{}}',
                '{"c":1,"files":{"a":{"len":-1}},"streams":{}}',
                '{"c":1,"files":{},"streams":{"s":{"r":[[5,1]],"s":0}}}',
                '"state"',
                '{"c":1}',
              ]
            : ['[]\n', 'null\n', `${'0'.repeat(8)} {"c":1}\n`, bytes.toString().replace(/"files":\{[^}]*\}/, '"files":[1,2]')],
        ),
      )
    default:
      return mutate(rng, bytes)
  }
}

t.test('each state file truncated, bit-flipped, emptied, reshaped: recover with one line, or refuse naming the file (fuzz)', async (t) => {
  const base = t.testdir()
  const { committed } = await makeRoot(join(base, 'template'))
  const originals = {
    'commits.log': readFileSync(stateFile(join(base, 'template'), 'commits.log')),
    'state.json': readFileSync(stateFile(join(base, 'template'), 'state.json')),
  }
  let n = 0
  await fuzz(t, 'damaged roll state', { cases: 24 }, async (rng) => {
    const dir = join(base, `case-${n++}`)
    await makeRoot(dir)
    const name = rng.pick(['commits.log', 'state.json'] as const)
    const kind = rng.pick(damages)
    const damaged = damage(rng, originals[name], kind, name)
    writeFileSync(stateFile(dir, name), damaged)
    const original = originals[name]
    const olderLog =
      name === 'commits.log' &&
      original.subarray(0, damaged.length).equals(damaged) &&
      (damaged.length === 0 || damaged[damaged.length - 1] === 0x0a)
    const o = await start(t, dir)
    checkRules(o, committed, name, dir, olderLog)
    if (o.code === 0 && isLocked(dir, { kind: 'roll' })) throw new Error('lock left behind')
  })
})
