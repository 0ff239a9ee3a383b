import t from 'tap'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { fixture, lines, pidOf, sh, tmpdir, tsf, until } from '../../fixtures/procs.js'

// A tsf reader killed -9 after it read its writer's events but before it answered the writer at
// all (under load its event loop is busy with stdin: the link it opened has not said HELLO, the
// writer's introduction is unread). The writer, with everything written, has nothing more to
// write and never meets EPIPE: only the close of its introduction can tell it. It waited for ever
// (test/transforms/route.test.ts hung on a restarted `tsf tail` whose `tsf filter` was killed).

t.test('an idle writer whose reader dies before answering it exits 4 and checkpoints nothing', async (t) => {
  const dir = tmpdir(t)
  const text = Array.from({ length: 50 }, (_, k) => `line ${k + 1}`).join('\n')
  writeFileSync(`${dir}/app.log`, `${text}\n`)
  const run = sh(t, `{ ${tsf} tail -F app.log --state st; echo $? > wexit; } | ${fixture('unanswering-reader.mjs')} .`, { cwd: dir })
  // every event read, the link connection made, the introduction made: the writer is idle
  await until(
    () =>
      existsSync(`${dir}/read`) &&
      Number(readFileSync(`${dir}/read`, 'utf8')) >= 50 &&
      existsSync(`${dir}/linking`) &&
      existsSync(`${dir}/introduced`),
    30_000,
    'the reader to read every event and connect both ways',
    run.stderr,
  )
  process.kill(pidOf(`${dir}/pid`), 'SIGKILL')
  await until(
    () => existsSync(`${dir}/wexit`) && readFileSync(`${dir}/wexit`, 'utf8').trim() !== '',
    30_000,
    'the writer to exit',
    run.stderr,
  )
  await run.done
  t.equal(readFileSync(`${dir}/wexit`, 'utf8').trim(), '4', `the writer failed its job: ${run.stderr()}`)
  t.match(run.stderr(), /the tsf reader of our stdout went away/)
  // nothing was acked, so nothing was checkpointed: a catch-up run emits every line again
  const again = await sh(t, `${tsf} tail app.log --state st > out.ndjson`, { cwd: dir }).done
  t.equal(again.code, 0, again.stderr)
  t.equal(lines(`${dir}/out.ndjson`).length, 50, 'every line read again')
})
