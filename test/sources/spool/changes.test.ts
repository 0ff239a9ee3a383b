import { appendFileSync, existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { sh, until } from '../../fixtures/procs.js'
import { sleep } from '../../fixtures/wait.js'
import { events, pidBelow, put, reader, scratch, tsf } from './fixtures/spool-helpers.js'

const inState = (d: string, name: string): boolean => {
  try {
    return readFileSync(join(d, '.tsf-spool/spool.json'), 'utf8').includes(`/${name}"`)
  } catch {
    return false
  }
}

t.test('a file still being written is not picked before it settles; one settled meanwhile is', async (t) => {
  const base = scratch(t)
  const d = join(base, 'd')
  put(d, 'ready.log', 'ready\n')
  put(d, 'slow.log', '')
  const out = join(base, 'out')
  const run = sh(t, `${tsf} spool ${d} --settle 2s --poll-interval 100ms | ${reader} ${out}`)
  // a line every 100 ms for 3 s: never quiet for 2 s
  for (let i = 1; i <= 30; i++) {
    appendFileSync(join(d, 'slow.log'), `slow ${i}\n`)
    await sleep(100)
  }
  const early = events(out).filter((e) => e.headers?.basename === 'slow.log')
  t.same(early, [], 'nothing of slow.log while it was being written')
  t.notOk(existsSync(join(d, 'slow.log.COMPLETED')), 'slow.log not renamed while being written')
  await until(() => existsSync(join(d, 'slow.log.COMPLETED')), 30_000, 'slow.log to be ingested once settled', run.stderr)
  t.same(
    events(out)
      .filter((e) => e.headers?.basename === 'slow.log')
      .map((e) => e.body),
    Array.from({ length: 30 }, (_, i) => `slow ${i + 1}`),
    'all of slow.log, once',
  )
  t.same(
    events(out)
      .filter((e) => e.headers?.basename === 'ready.log')
      .map((e) => e.body),
    ['ready'],
  )
})

t.test('a file modified after pickup goes to the quarantine, named in one line; what was sent stays sent', async (t) => {
  const base = scratch(t)
  const d = join(base, 'd')
  const lines = Array.from({ length: 3000 }, (_, i) => `big ${i + 1} ${'y'.repeat(60)}`)
  put(d, 'big.log', lines.join('\n') + '\n')
  put(d, 'other.log', 'other\n')
  const out = join(base, 'out')
  // the reader starts late: big.log is picked and partly sent, but nothing is acked yet
  const run = sh(t, `${tsf} spool ${d} --settle 100ms --poll-interval 100ms --order name | ${reader} ${out} --start-after 3000`)
  await until(() => inState(d, 'big.log'), 30_000, 'big.log to be picked up', run.stderr)
  appendFileSync(join(d, 'big.log'), 'appended after pickup\n')
  await until(() => /big\.log: changed after it was picked up/.test(run.stderr()), 30_000, 'the quarantine message', run.stderr)
  t.match(
    run.stderr(),
    /big\.log: changed after it was picked up \(size \d+ -> \d+ bytes\); its first \d+ events were sent as stream \S+: moved to .*\.tsf-quarantine\/big\.log/,
  )
  t.equal(
    readFileSync(join(d, '.tsf-quarantine/big.log'), 'utf8').split('\n').at(-2),
    'appended after pickup',
    'the whole file is in the quarantine',
  )
  await until(() => existsSync(join(d, 'other.log.COMPLETED')), 30_000, 'the next file to be ingested', run.stderr)
  const sent = events(out).filter((e) => e.headers?.basename === 'big.log')
  t.same(
    sent.map((e) => e.body),
    lines.slice(0, sent.length),
    'only lines of the file as it was picked up, in order',
  )
})

t.test('a file rewritten while spool was down is quarantined on restart, not resumed', async (t) => {
  const base = scratch(t)
  const d = join(base, 'd')
  put(d, 'a.log', Array.from({ length: 2000 }, (_, i) => `a ${i + 1}`).join('\n') + '\n')
  const out = join(base, 'out')
  const run = sh(t, `${tsf} spool ${d} --settle 100ms | ${reader} ${out} --start-after 60000`)
  await until(() => inState(d, 'a.log'), 30_000, 'a.log to be picked up', run.stderr)
  const pid = pidBelow(run.child.pid!, 'spool')
  t.ok(pid, 'found the spool process')
  process.kill(pid!, 'SIGKILL')
  process.kill(-run.child.pid!, 'SIGKILL') // the sleeping reader too
  await run.done
  appendFileSync(join(d, 'a.log'), 'more\n')
  await sleep(200)
  const again = await sh(t, `{ ${tsf} spool ${d} --once --settle 100ms; echo $? > ${base}/rc; } | ${reader} ${out}.2`).done
  t.match(
    again.stderr,
    /a\.log: changed after it was picked up \(size \d+ -> \d+ bytes\) while spool was down; 0 events of it were already sent: moved to/,
    again.stderr,
  )
  t.equal(readFileSync(join(base, 'rc'), 'utf8').trim(), '1', '--once exits 1 when a file was quarantined')
  t.same(events(`${out}.2`), [], 'nothing re-sent from the changed file')
})

t.test('--once in cron-like runs: each run takes what is there, exits 0 when acked, and takes nothing twice', async (t) => {
  const base = scratch(t)
  const d = join(base, 'd')
  put(d, 'one.log', '1a\n1b\n')
  put(d, 'two.log', '2a\n')
  const cron = async (n: number): Promise<string[]> => {
    const out = join(base, `out.${n}`)
    const r = await sh(t, `{ ${tsf} spool ${d} --once --settle 100ms; echo $? > ${base}/rc.${n}; } | ${reader} ${out}`).done
    t.equal(r.code, 0, `run ${n}: the reader ends cleanly`)
    t.equal(readFileSync(join(base, `rc.${n}`), 'utf8').trim(), '0', `run ${n}: spool exits 0 (stderr: ${r.stderr})`)
    return events(out).map((e) => e.body)
  }
  t.same((await cron(1)).sort(), ['1a', '1b', '2a'])
  put(d, 'three.log', '3a\n3b\n3c\n')
  t.same(await cron(2), ['3a', '3b', '3c'], 'the second run takes only the new file')
  t.same(await cron(3), [], 'an empty run ends at once with nothing')
  t.ok(['one', 'two', 'three'].every((f) => existsSync(join(d, `${f}.log.COMPLETED`))))
})
