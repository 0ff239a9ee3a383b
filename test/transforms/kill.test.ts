import t, { type Test } from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { fixture, lines, pidOf, readNumber, sh, tmpdir, tsf, until } from '../fixtures/procs.js'

// tsf filter under kill -9 of every stage (the basic cases are in engine.test.ts): test/fixtures/link-writer.mjs
// emits "w event N" and saves the highest N it may checkpoint; link-reader.mjs appends, fsyncs,
// then acks. ODD drops the odd-numbered events.
const W = fixture('link-writer.mjs')
const R = fixture('link-reader.mjs')
const exitOf = (path: string): number => Number(readFileSync(path, 'utf8').trim())
const numbers = (path: string): number[] => lines(path).map((l) => Number(/event (\d+)/.exec(l)![1]))
const ODD = '--drop "event [0-9]*[13579]$"'

// Nothing lost: every kept event up to the writer's checkpoint is in the reader's durable file.
const assertNothingLost = (t: Test, dir: string): void => {
  const ck = readNumber(`${dir}/ck`)
  const have = new Set(numbers(`${dir}/out`))
  const missing: number[] = []
  for (let n = 2; n <= ck; n += 2) if (!have.has(n)) missing.push(n)
  t.same(missing.slice(0, 5), [], `every kept event up to the checkpoint ${ck} is durable downstream (${have.size} there)`)
  t.notOk(
    numbers(`${dir}/out`).some((n) => n % 2),
    'no dropped event went through',
  )
}

for (const victim of ['filter', 'reader'] as const) {
  t.test(`the ${victim} killed -9 mid-stream: the writer exits 4 and never checkpointed a kept event that was not durable`, async (t) => {
    const dir = tmpdir(t)
    const run = sh(
      t,
      `{ ${W} 10000000 ck --rate 20000; echo $? > wexit; } | sh -c 'echo $$ > filter.pid; exec ${tsf} filter ${ODD}' | ${R} out --delay 2`,
      { cwd: dir },
    )
    await until(() => lines(`${dir}/out`).length > 3000, 30_000, 'events through the filter', run.stderr)
    process.kill(pidOf(`${dir}/${victim === 'filter' ? 'filter.pid' : 'out.pid'}`), 'SIGKILL')
    await run.done
    t.equal(exitOf(`${dir}/wexit`), 4, run.stderr())
    t.ok(readNumber(`${dir}/ck`) > 0, 'acks did arrive before the kill')
    assertNothingLost(t, dir)
  })
}

t.test('the writer killed -9: the filter and the reader exit 3 (the pipeline restarts as a whole)', async (t) => {
  const dir = tmpdir(t)
  const run = sh(t, `${W} 10000000 ck --rate 5000 | { ${tsf} filter ${ODD}; echo $? > fexit; } | { ${R} out; echo $? > rexit; }`, {
    cwd: dir,
  })
  await until(() => lines(`${dir}/out`).length > 500, 30_000, 'events through the filter', run.stderr)
  process.kill(pidOf(`${dir}/ck.pid`), 'SIGKILL')
  await run.done
  t.equal(exitOf(`${dir}/fexit`), 3, run.stderr())
  t.equal(exitOf(`${dir}/rexit`), 3)
  for (const line of lines(`${dir}/out`)) JSON.parse(line)
})

t.test('tail | filter | reader, each stage killed -9 in turn and the pipeline restarted: every kept line arrives', async (t) => {
  const dir = tmpdir(t)
  const total = 60000
  let log = ''
  for (let i = 1; i <= total; i++) log += `${i % 3 === 0 ? 'DEBUG' : 'INFO'} line ${i}\n`
  writeFileSync(`${dir}/app.log`, log)
  const pipeline = `sh -c 'echo $$ > tail.pid; exec ${tsf} tail app.log --state st' | sh -c 'echo $$ > filter.pid; exec ${tsf} filter --drop ^DEBUG --extract "^(?<level>[A-Z]+)"' | ${R} out --delay 5`
  for (const victim of ['tail.pid', 'filter.pid', 'out.pid']) {
    const before = lines(`${dir}/out`).length
    const run = sh(t, pipeline, { cwd: dir })
    await until(() => lines(`${dir}/out`).length > before + 2000, 60_000, `progress before killing ${victim}`, run.stderr)
    process.kill(pidOf(`${dir}/${victim}`), 'SIGKILL')
    await run.done
  }
  const r = await sh(t, pipeline, { cwd: dir }).done
  t.equal(r.code, 0, r.stderr)
  const got = lines(`${dir}/out`).map((l) => JSON.parse(l) as { body: string; headers: Record<string, string> })
  const bodies = new Set(got.map((e) => e.body))
  const missing: number[] = []
  for (let i = 1; i <= total; i++) if (i % 3 !== 0 && !bodies.has(`INFO line ${i}`)) missing.push(i)
  t.same(missing.slice(0, 5), [], `every kept line arrived (${bodies.size} distinct of ${total - total / 3})`)
  t.notOk(
    got.some((e) => e.body.startsWith('DEBUG')),
    'no dropped line arrived',
  )
  t.ok(
    got.every((e) => e.headers.level === 'INFO'),
    'every event carries its extracted header',
  )
})
