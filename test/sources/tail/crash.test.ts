// kill -9 of tail at random moments while lines keep coming and the file rotates, restart after
// each kill: every line exactly once after dedupe on (src, seq), none missing.
import t from 'tap'
import { appendFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { deduped, events, exitIn, numbered, pidIn, pipeline, sleep, text, until } from '../../fixtures/tail-procs.js'

const FAST = '--rotate-wait 300ms --poll-interval 200ms --checkpoint-interval 50ms'

t.test('kill -9 of tail at random moments, with rotations while it runs and while it is down', async (t) => {
  const dir = t.testdir({ 'app.log': '' })
  let n = 0
  let rotations = 0
  const write = (count: number): void => {
    appendFileSync(`${dir}/app.log`, numbered('line', n, n + count))
    n += count
  }
  const rotate = (): void => {
    renameSync(`${dir}/app.log`, `${dir}/app.log.${++rotations}`)
    writeFileSync(`${dir}/app.log`, '')
  }
  const adopted = (ino: number): boolean => {
    try {
      return (JSON.parse(text(`${dir}/st/checkpoints.json`)) as { files: { ino: number }[] }).files.some((f) => f.ino === ino)
    } catch {
      return false
    }
  }
  const appender = setInterval(() => write(20), 10)
  t.teardown(() => clearInterval(appender))
  const seed = Number(process.env.TSF_TEST_SEED ?? Date.now() % 100000)
  let r = seed
  const random = (): number => ((r = (r * 16807) % 2147483647) % 1000) / 1000
  t.comment(`seed ${seed} (TSF_TEST_SEED to replay)`)
  for (let round = 0; round < 6; round++) {
    const p = pipeline(t, dir, `-F app.log --state st ${FAST}`)
    const before = events(`${dir}/out.ndjson`).length
    // tail is started and linked (a file it never saw cannot be found again by its identity)
    await until(() => events(`${dir}/out.ndjson`).length > before && text(`${dir}/tail.pid`) !== '', 30_000, 'the pipeline to deliver')
    await sleep(random() * 600)
    if (random() < 0.5) {
      rotate()
      const ino = statSync(`${dir}/app.log`).ino
      await until(() => adopted(ino), 10_000, 'the new file to be adopted')
    }
    await sleep(random() * 400)
    process.kill(pidIn(`${dir}/tail.pid`), 'SIGKILL')
    await p.done
    t.not(exitIn(`${dir}/reader.exit`), 0, 'the reader noticed its writer died')
    if (round === 2) rotate() // while tail is down: the old file is found again among its siblings
    writeFileSync(`${dir}/tail.pid`, '')
    writeFileSync(`${dir}/reader.pid`, '')
  }
  clearInterval(appender)
  write(10)
  const p = pipeline(t, dir, `-F app.log --state st ${FAST}`)
  await until(
    () => deduped(events(`${dir}/out.ndjson`)).length >= n,
    90_000,
    `all ${n} lines`,
    () => `${deduped(events(`${dir}/out.ndjson`)).length} so far`,
  )
  await sleep(500) // nothing more may come
  process.kill(pidIn(`${dir}/tail.pid`), 'SIGTERM')
  await p.done
  const all = events(`${dir}/out.ndjson`)
  const kept = deduped(all)
  t.equal(kept.length, n, `${n} lines, ${all.length - n} duplicates removed by (src, seq)`)
  const bodies = kept.map((e) => e.body)
  t.equal(new Set(bodies).size, n, 'no line twice under different (src, seq)')
  const missing = Array.from({ length: n }, (_, i) => `line ${i}`).filter((b) => !bodies.includes(b))
  t.same(missing.slice(0, 5), [], 'none missing')
  t.ok(rotations >= 1)
})
