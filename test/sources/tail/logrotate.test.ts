// tsf tail -F on a glob of logs rotated by the real logrotate, with examples/logrotate/app's
// styles (create + compress + delaycompress, copytruncate), from a tail started just before
// the logs are written: tail says on stderr when it follows, and from that line on every line
// is read, across rotations that leave the watched names ('logs/*.log' does not match app.log.1).
//
// A tail takes a while to start (seconds on a loaded machine, more with NODE_OPTIONS imports
// such as tap's): what logrotate moved out of the watched names before tail followed the
// directory is out of its reach. Without the readiness line a script (or test) could only
// sleep and hope, and lost whole generations when tail came up after the rotations.
import t from 'tap'
import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs'
import { deduped, events, numbered, pipeline, run, text, until, type TsfEventLine } from '../../fixtures/tail-procs.js'

t.test('the readiness line, then logrotate create+delaycompress and copytruncate on a glob: every line once', async (t) => {
  const dir = t.testdir({})
  mkdirSync(`${dir}/logs`)
  writeFileSync(
    `${dir}/lr.conf`,
    `${dir}/logs/app*.log {\n  rotate 14\n  missingok\n  notifempty\n  compress\n  delaycompress\n  create\n}\n` +
      `${dir}/logs/legacy.log {\n  rotate 7\n  missingok\n  copytruncate\n}\n`,
  )
  const p = pipeline(t, dir, `-F 'logs/*.log' --state st --rotate-wait 300ms --checkpoint-interval 50ms`)
  await until(
    () => /tsf tail: following 0 files; watching 1 directory for new and rotated files/.test(text(`${dir}/tail.err`)),
    30_000,
    'the readiness line',
    () => text(`${dir}/tail.err`),
  )

  const total = 3000
  const got = (): string[] => deduped(events(`${dir}/out.ndjson`)).map((e) => e.body)
  for (let i = 1; i <= total; i++) {
    // the files do not exist yet when tail says it follows: they are created by these appends
    appendFileSync(`${dir}/logs/${i % 3 ? 'app.log' : 'legacy.log'}`, `example line ${i}\n`)
    if (i % 1000 === 0) {
      // copytruncate loses what was not read before the truncation (docs/tail.md, Limits): rotate
      // once tail has read everything, as the example does by its pause
      await until(
        () => got().length >= i,
        30_000,
        `${i} lines before the rotation`,
        () => `${got().length}; tail: ${text(`${dir}/tail.err`)}`,
      )
      const lr = run(`logrotate -f -s ${dir}/lr.state ${dir}/lr.conf`, dir)
      t.equal(lr.code, 0, `logrotate after line ${i}: ${lr.stderr}`)
    }
  }
  for (let i = total + 1; i <= total + 300; i++) appendFileSync(`${dir}/logs/${i % 3 ? 'app.log' : 'legacy.log'}`, `example line ${i}\n`)
  await until(
    () => got().length >= total + 300,
    30_000,
    'every line',
    () => `${got().length}; tail: ${text(`${dir}/tail.err`)}`,
  )
  const bodies = got()
  t.equal(bodies.length, total + 300, 'none twice (after dedupe on src/seq)')
  t.same([...bodies].sort(), Array.from({ length: total + 300 }, (_, i) => `example line ${i + 1}`).sort(), 'every line')
  t.match(text(`${dir}/tail.err`), /legacy\.log: truncated in place/)
  t.notMatch(text(`${dir}/tail.err`), /error/i)
  process.kill(Number(text(`${dir}/tail.pid`).trim()), 'SIGTERM')
  await p.done
})

// copytruncate, then the writer writes as many bytes as tail had read, all before tail looks
// (a loaded machine; here tail is stopped meanwhile): the size is the same as at tail's last
// look, but the bytes are new. They were taken for "nothing new" and never read.
t.test('copytruncate regrown to exactly the size tail had read, before tail looked: read again as a new stream', async (t) => {
  const dir = t.testdir({ 'app.log': numbered('a', 0, 100) })
  writeFileSync(`${dir}/lr.conf`, `${dir}/app.log {\n  rotate 7\n  missingok\n  copytruncate\n}\n`)
  const p = pipeline(t, dir, `-F app.log --state st --rotate-wait 300ms --poll-interval 200ms --checkpoint-interval 50ms`)
  const got = (): TsfEventLine[] => deduped(events(`${dir}/out.ndjson`))
  await until(
    () => got().length >= 100,
    30_000,
    '100 lines',
    () => text(`${dir}/tail.err`),
  )
  const pid = Number(text(`${dir}/tail.pid`).trim())
  process.kill(pid, 'SIGSTOP')
  try {
    const lr = run(`logrotate -f -s ${dir}/lr.state ${dir}/lr.conf`, dir)
    t.equal(lr.code, 0, `logrotate: ${lr.stderr}`)
    appendFileSync(`${dir}/app.log`, numbered('b', 0, 100)) // 'b N' is as long as 'a N'
  } finally {
    process.kill(pid, 'SIGCONT')
  }
  await until(
    () => got().length >= 200,
    20_000,
    'the lines after the copytruncate',
    () => `${got().length}; tail: ${text(`${dir}/tail.err`)}`,
  )
  const all = got()
  const b = all.filter((e) => e.body.startsWith('b '))
  t.same(
    b.map((e) => e.body),
    numbered('b', 0, 100).trim().split('\n'),
    'every line of the new generation, in order',
  )
  t.same(b.map((e) => e.seq).slice(0, 2), [1, 2], 'from seq 1')
  t.not(b[0]!.src, all[0]!.src, 'under a new src')
  t.match(text(`${dir}/tail.err`), /app\.log: truncated in place/)
  process.kill(pid, 'SIGTERM')
  await p.done
})
