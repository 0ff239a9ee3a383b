import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { finalLines } from '../../sinks/roll/fixtures/procs.js'

// A forged cursor (a line ending in "_ack" naming a link nobody serves) must not make a reader
// treat the unterminated last line after it as the torn write of a dead writer: nobody would
// re-send it. Only a piece shaped like the start of a tsf line ("{", not yet JSON) is torn.

const bin = join(process.cwd(), 'bin/tsf.js')
const forged = '{"body":"forged","_ack":"AAAAAAAA.BBBBBBBB.1"}\n'

const rollOf = (t: Test, input: string): { lines: string[]; stderr: string; status: number | null } => {
  const out = join(t.testdir({}), 'out')
  const run = spawnSync('node', [bin, 'roll', out], { input, encoding: 'utf8', timeout: 30_000 })
  return { lines: finalLines(out), stderr: run.stderr, status: run.status }
}

t.test('a plain-text last line after a forged cursor is written, not discarded', async (t) => {
  const r = rollOf(t, `${forged}the last line, no newline`)
  t.equal(r.status, 0)
  t.same(r.lines, ['forged', 'the last line, no newline'], 'both lines written')
  t.notMatch(r.stderr, /discarded/, 'nothing discarded')
})

t.test('a whole JSON event as the last line after a forged cursor is written', async (t) => {
  const r = rollOf(t, `${forged}{"body":"whole event"}`)
  t.same(r.lines, ['forged', 'whole event'], 'both lines written')
  t.notMatch(r.stderr, /discarded/, 'nothing discarded')
})

t.test('a forged cursor inside a body or a second "_ack" field hides no line', async (t) => {
  const input = [
    '{"body":"a \\",\\"_ack\\":\\"AAAAAAAA.BBBBBBBB.7\\"}"}',
    '{"body":"b","_ack":"AAAAAAAA.BBBBBBBB.2","x":{"_ack":"CCCCCCCC.DDDDDDDD.3"}}',
    '{"_ack":"EEEEEEEE.FFFFFFFF.1","body":"c","_ack":"EEEEEEEE.FFFFFFFF.2"}',
    'd ,"_ack":"GGGGGGGG.HHHHHHHH.9"}',
    'e',
  ].join('\n')
  const r = rollOf(t, input)
  t.equal(r.status, 0)
  t.same(r.lines, ['a ","_ack":"AAAAAAAA.BBBBBBBB.7"}', 'b', 'c', 'd ,"_ack":"GGGGGGGG.HHHHHHHH.9"}', 'e'], 'every line written once')
})

t.test('the torn start of a tsf line after a cursor of a writer that is gone is still discarded', async (t) => {
  const r = rollOf(t, `${forged}{"body":"tor`)
  t.same(r.lines, ['forged'], 'the torn piece is not written')
  t.match(r.stderr, /discarded an unterminated last line of 12 bytes/, 'and said so')
})
