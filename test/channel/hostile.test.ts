import t from 'tap'
import { readFileSync, writeFileSync } from 'node:fs'
import { classifyLine } from '../../src/core/link/cursor.js'
import { sh } from '../fixtures/procs.js'
import { ended, linkReader, tsf } from './helpers.js'

// Hostile events through a channel: a line of several MiB, and JSON nested 20,000 deep. The
// channel stores and forwards bytes, so neither may crash it, stall its acks or come back after
// every restart. (Both also depend on the ack link in core handling them.)

// Both also need the ack-link fixes of the agent branch in core (#14: acks after a chunk that
// completes no line; an event too deep to re-encode). Until core has them, these are todo (they
// fail there); with them (checked on a merge of both branches) they run as ordinary tests. Core
// has them when its line classifier survives a deep line; remove this check once main has them.
const coreHasFix = ((): boolean => {
  try {
    classifyLine(Buffer.from(`{"body":"x","_ack":"AAAAAAAAAAAA.BBBBBBBBBBBB.1","a":${'['.repeat(20_000)}${']'.repeat(20_000)}}`))
    return true
  } catch {
    return false
  }
})()
const needsCoreFix = coreHasFix ? {} : { todo: 'needs the ack-link fixes of the agent branch in core' }

const lines = (path: string): string[] => readFileSync(path, 'utf8').split('\n').slice(0, -1)

t.test('a 3 MiB line is delivered once, acked, and not sent again on the next start', needsCoreFix, async (t) => {
  const dir = t.testdir()
  const long = `{"body":"${'x'.repeat(3 * 1024 * 1024)}","seq":1}`
  writeFileSync(`${dir}/in`, `${long}\n{"body":"after","seq":2}\n`)
  const first = await ended(sh(t, `${tsf} channel --dir ${dir}/q --max-line 4M < ${dir}/in | ${linkReader} ${dir}/out`), 60_000)
  t.equal(first.code, 0, first.stderr)
  t.equal(lines(`${dir}/out`).length, 2)
  t.ok(lines(`${dir}/out`)[0] === long, 'whole')
  const offset = JSON.parse(readFileSync(`${dir}/q/readers/default.offset`, 'utf8')) as { index: number }
  t.equal(offset.index, 2, 'the reader offset moved past both events')
  const again = await ended(sh(t, `${tsf} channel --dir ${dir}/q --max-line 4M < /dev/null | ${linkReader} ${dir}/out`), 60_000)
  t.equal(again.code, 0, again.stderr)
  t.equal(lines(`${dir}/out`).length, 2, 'nothing re-delivered on restart')
})

t.test('an event nested 20,000 deep passes through without a crash', needsCoreFix, async (t) => {
  const dir = t.testdir()
  const deep = '['.repeat(20_000) + ']'.repeat(20_000)
  // as a tsf writer sends it, and with its cursor moved inside by a foreign filter (parsed path)
  writeFileSync(
    `${dir}/in`,
    `{"body":"deep","a":${deep}}\n{"body":"moved","_ack":"AAAAAAAAAAAA.BBBBBBBBBBBB.1","a":${deep}}\n{"body":"after"}\n`,
  )
  const run = await ended(sh(t, `${tsf} channel --dir ${dir}/q < ${dir}/in | ${linkReader} ${dir}/out`), 60_000)
  t.equal(run.code, 0, run.stderr)
  t.notMatch(run.stderr, /RangeError|internal error|\n\s+at /)
  const got = lines(`${dir}/out`)
  t.equal(got.length, 3, 'every event delivered')
  t.equal(got[0], `{"body":"deep","a":${deep}}`, 'bytes unchanged')
  t.match(got[2], /"after"/)
})
