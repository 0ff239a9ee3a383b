import t from 'tap'
import { execFileSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { YOUNG_CAP } from '../../src/core/young-gen.js'

const fixture = fileURLToPath(new URL('../fixtures/young-gen.mjs', import.meta.url))
type Seen = { armed: number; most: number; shrunk?: number }
const run = (...args: string[]): Seen => runWith({}, ...args)
const runWith = (env: Record<string, string>, ...args: string[]): Seen =>
  JSON.parse(execFileSync(process.execPath, [fixture, ...args], { encoding: 'utf8', timeout: 120_000, env: { ...process.env, ...env } }))

t.test("a streaming command's young generation stops growing at the cap; without it V8 grows it past", async (t) => {
  const plain = run('plain')
  t.ok(plain.most > YOUNG_CAP, `without the cap new space grew to ${plain.most / 2 ** 20} MiB`)
  const capped = run('capped')
  // the cap stops growth, it cannot shrink: where node started with a larger new space (seen under
  // the test runner: 4 MiB before any code of ours ran, 8 by the time runCommand armed the cap),
  // that size is the most it may reach
  const bound = Math.max(YOUNG_CAP, capped.armed)
  t.ok(capped.most <= bound, `inside runCommand it stayed at ${capped.most / 2 ** 20} MiB (armed at ${capped.armed / 2 ** 20})`)
  if (capped.armed < YOUNG_CAP)
    t.ok(capped.most === YOUNG_CAP, 'and still grew from its start size to the cap (a busy stage is not held small)')
})

t.test('after V8 shrank new space in an idle spell, a busy stage grows it again up to the cap', async (t) => {
  const r = run('capped', '--shrink')
  t.ok(r.shrunk! < YOUNG_CAP, `shrunk to ${r.shrunk! / 2 ** 20} MiB while idle`)
  t.ok(r.most === YOUNG_CAP, `grew back to ${r.most / 2 ** 20} MiB, no more`)
})

t.test("a user's own young-generation size (NODE_OPTIONS) is kept: no cap then", async (t) => {
  const r = runWith({ NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --max-semi-space-size=32` }, 'capped')
  t.ok(r.most > YOUNG_CAP, `with --max-semi-space-size=32 new space grew to ${r.most / 2 ** 20} MiB`)
})
