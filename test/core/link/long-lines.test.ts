import t from 'tap'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { sh, tsf, until } from '../../fixtures/procs.js'
import { freePort, rolledLines } from '../../fixtures/pipelines.js'

// Lines of 64 KiB to 3 MiB (within --max-line) through whole chains: every ack keeps flowing
// (tail catches up and exits), nothing is re-sent for ever, roll writes each line once, and a
// restart delivers nothing again.

const sizes = [64 * 1024, 128 * 1024 + 7, 1024 * 1024, 3 * 1024 * 1024]
const content = (): { text: string; expected: string[] } => {
  const expected = ['before']
  sizes.forEach((n, i) => expected.push(String.fromCharCode(97 + i).repeat(n), `after ${i}`))
  return { text: `${expected.join('\n')}\n`, expected }
}

// roll's lines as "<first char> x <length>", so a mismatch prints short
const summary = (lines: string[]): string[] => lines.map((l) => (l.length > 40 ? `${l[0]} x ${l.length}` : l))

const checkpointPos = (state: string): number =>
  (JSON.parse(readFileSync(`${state}/checkpoints.json`, 'utf8')) as { files: { pos: number }[] }).files[0]!.pos

t.test('tail | ship -> collect | roll: long lines are acked, written once, not re-sent after a restart', async (t) => {
  const dir = t.testdir({})
  const { text, expected } = content()
  writeFileSync(`${dir}/app.log`, text)
  const port = await freePort()
  const collector = sh(t, `${tsf} collect --listen 127.0.0.1:${port} | ${tsf} roll ${dir}/out --max-line 4M`)
  await until(() => /listening/.test(collector.stderr()), 30_000, 'collect listening', collector.stderr)
  const agent = `${tsf} tail ${dir}/app.log --state ${dir}/st --max-line 4M | ${tsf} ship 127.0.0.1:${port} --max-line 4M`
  const first = await sh(t, agent).done
  t.equal(first.code, 0, `the agent caught up and exited: ${first.stderr}`)
  t.equal(checkpointPos(`${dir}/st`), statSync(`${dir}/app.log`).size, 'every line acked back to tail')
  await until(() => rolledLines(`${dir}/out`).length >= expected.length, 30_000, 'roll wrote every line')
  const again = await sh(t, agent).done
  t.equal(again.code, 0, again.stderr)
  t.notMatch(first.stderr + again.stderr, /re-?sen[dt]|retry/i, 'no batch re-sent')
  process.kill(-collector.child.pid!, 'SIGTERM')
  const end = await collector.done
  t.match(end.stderr, /tsf collect: all events acked downstream/, 'collect stopped with every event acked')
  t.notMatch(end.stderr, /error|Error/, end.stderr)
  t.same(summary(rolledLines(`${dir}/out`)), summary(expected), 'each line once, whole, in order')
})

t.test('tail | channel | roll with a restart of the channel: long lines once, not re-delivered', async (t) => {
  const dir = t.testdir({})
  const { text, expected } = content()
  writeFileSync(`${dir}/app.log`, text)
  const chain = `${tsf} tail ${dir}/app.log --state ${dir}/st --max-line 4M | ${tsf} channel --dir ${dir}/q --max-line 4M | ${tsf} roll ${dir}/out --max-line 4M`
  const first = await sh(t, chain).done
  t.equal(first.code, 0, first.stderr)
  t.equal(checkpointPos(`${dir}/st`), statSync(`${dir}/app.log`).size, 'every line acked back to tail')
  t.same(summary(rolledLines(`${dir}/out`)), summary(expected), 'each line once after the first run')
  // the channel restarted on its queue, twice: nothing comes again
  for (let k = 0; k < 2; k++) {
    const again = await sh(t, `${tsf} channel --dir ${dir}/q --max-line 4M < /dev/null | ${tsf} roll ${dir}/out --max-line 4M`).done
    t.equal(again.code, 0, again.stderr)
  }
  t.same(summary(rolledLines(`${dir}/out`)), summary(expected), 'nothing re-delivered by a restarted channel')
})

t.test('a reader told a smaller --max-line than its upstream takes each event whole, never its JSON as text', async (t) => {
  const dir = t.testdir({})
  // a body of 600 KiB of quotes escapes to 1.2 MiB of event JSON: far past 8 × roll's 1K + 64 KiB
  const expected = ['before', '"'.repeat(600 * 1024), 'after']
  writeFileSync(`${dir}/app.log`, `${expected.join('\n')}\n`)
  const r = await sh(t, `${tsf} tail ${dir}/app.log --state ${dir}/st | ${tsf} roll ${dir}/out --max-line 1K`).done
  t.equal(r.code, 0, r.stderr)
  const lines = rolledLines(`${dir}/out`)
  t.notOk(
    lines.some((l) => l.includes('_ack') || l.startsWith('{"')),
    'no piece of an event line was written as text',
  )
  t.same(summary(lines), summary(expected), 'each line once, whole, in order')
})

// A writer says its --max-line on the link (MAXLINE, docs/protocol.md): a 10 MiB line of a
// `tail --max-line 16M` is past what a reader frames by default (8 × 1 MiB + 64 KiB), and every
// reader after it (roll, and the channel and filter in between) told 1K takes it whole: never its
// JSON and cursor as text pieces in the file.
const longFirst = ['y'.repeat(10 * 1024 * 1024), 'between', 'z'.repeat(10 * 1024 * 1024 + 3), 'after']
for (const [name, middle] of [
  ['tail --max-line 16M | roll --max-line 1K', ''],
  ['tail --max-line 16M | channel --max-line 1K | filter --max-line 1K | roll --max-line 1K', 'channel'],
] as const) {
  t.test(`${name}: 10 MiB events stay whole, first line or not (the writer says its max-line)`, async (t) => {
    const dir = t.testdir({})
    writeFileSync(`${dir}/app.log`, `${longFirst.join('\n')}\n`)
    const between = middle ? ` | ${tsf} channel --dir ${dir}/q --max-line 1K | ${tsf} filter --max-line 1K --drop '^never$'` : ''
    const r = await sh(t, `${tsf} tail ${dir}/app.log --state ${dir}/st --max-line 16M${between} | ${tsf} roll ${dir}/out --max-line 1K`)
      .done
    t.equal(r.code, 0, r.stderr)
    t.notMatch(r.stderr, /cut into pieces/, 'no stage cut a line')
    const lines = rolledLines(`${dir}/out`)
    t.notOk(
      lines.some((l) => l.includes('_ack') || l.startsWith('{"')),
      'no piece of an event line was written as text',
    )
    t.same(summary(lines), summary(longFirst), 'each line once, whole, in order')
    t.equal(checkpointPos(`${dir}/st`), statSync(`${dir}/app.log`).size, 'every line acked back to tail')
  })
}

// Through a foreign filter the reader cannot hear a writer before its first cursor: a first event
// longer than the default frame is cut into text. Its cursor is cut from the text and its writer
// acked (a tail whose window that line filled waited for that ack for ever, and so did the whole
// pipeline); once linked, the writer's MAXLINE keeps the next long event whole.
t.test('tail --max-line 16M | grep --line-buffered | roll --max-line 1K: a cut first event does not stop the pipeline', async (t) => {
  const dir = t.testdir({})
  writeFileSync(`${dir}/app.log`, `${longFirst.join('\n')}\n`)
  const r = await sh(
    t,
    `${tsf} tail ${dir}/app.log --state ${dir}/st --max-line 16M | grep --line-buffered -v '^never$' | ${tsf} roll ${dir}/out --max-line 1K`,
  ).done
  t.equal(r.code, 0, r.stderr)
  t.match(r.stderr, /an event line longer than \d+ bytes was cut into text pieces/, 'said once')
  const lines = rolledLines(`${dir}/out`)
  t.notOk(
    lines.some((l) => l.includes('_ack')),
    'no cursor in the file',
  )
  t.same(summary(lines.slice(1)), summary(longFirst.slice(1)), 'every later line once, whole')
  t.equal(checkpointPos(`${dir}/st`), statSync(`${dir}/app.log`).size, 'every line acked back to tail')
})
