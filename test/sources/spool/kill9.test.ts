import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { sh, until } from '../../fixtures/procs.js'
import { dedupe, events, names, pidBelow, put, reader, scratch, tsf, type Ev } from './fixtures/spool-helpers.js'

const FILES = 500
const LINES = 40
const ROUNDS = 8

const sizeOf = (path: string): number => (existsSync(path) ? statSync(path).size : 0)

t.test(
  `${FILES} files, kill -9 of spool or of its reader at random moments: each line exactly once after dedupe, every file renamed`,
  async (t) => {
    const base = scratch(t)
    const d = join(base, 'd')
    const expected = new Set<string>()
    for (let f = 0; f < FILES; f++) {
      const name = `f${String(f).padStart(3, '0')}.log`
      let text = ''
      // the first file is big: restarts land in the middle of it
      for (let l = 1; l <= (f === 0 ? 8000 : LINES); l++) {
        const line = `${name} line ${l} ${'x'.repeat((f * 7 + l * 13) % 90)}`
        expected.add(line)
        text += `${line}\n`
      }
      put(d, name, text)
    }
    const outs: string[] = []
    let total = 0
    for (let round = 0; round < ROUNDS; round++) {
      const out = join(base, `out.${round}`)
      outs.push(out)
      // the reader paces itself (50 ms per batch) so that every round is cut in the middle of the work
      const run = sh(t, `${tsf} spool ${d} --settle 100ms --poll-interval 100ms | ${reader} ${out} --delay 50`)
      // a random moment once the round delivered something
      const target = Math.floor(Math.random() * 150_000)
      let ended = false
      void run.done.then(() => (ended = true))
      const allDone = (): boolean => names(d).filter((n) => !n.startsWith('.tsf-spool/') && !n.endsWith('.COMPLETED')).length === 0
      await until(() => ended || sizeOf(out) > target || allDone(), 60_000, `round ${round} to write ${target} bytes`, run.stderr)
      await new Promise((r) => setTimeout(r, Math.random() * 400))
      // all ingested already: an idle spool learns of a dead reader only when it next writes
      const victim = round % 2 === 0 || allDone() ? 'spool' : 'link-reader.mjs'
      const pid = pidBelow(run.child.pid!, victim)
      if (pid) process.kill(pid, 'SIGKILL')
      // the other side notices and exits (spool: downstream lost; reader: upstream lost)
      await until(() => ended, 60_000, `round ${round} pipeline to end after kill -9 of ${victim}`, run.stderr)
      total += events(out).length
      t.comment(`round ${round}: killed ${victim} after ${sizeOf(out)} bytes`)
    }
    const last = join(base, 'out.last')
    outs.push(last)
    const final = await sh(t, `${tsf} spool ${d} --once --settle 100ms | ${reader} ${last}`).done
    t.equal(final.code, 0, `the last --once run ends cleanly (stderr: ${final.stderr})`)

    const all: Ev[] = outs.flatMap(events)
    const unique = dedupe(all)
    t.comment(`${all.length} events delivered, ${all.length - unique.length} of them redelivered (dropped by the dedupe)`)
    const bodies = unique.map((e) => e.body)
    t.equal(bodies.length, expected.size, 'as many events after dedupe as lines')
    t.same(new Set(bodies), expected, 'every line is there')
    t.equal(new Set(bodies).size, bodies.length, 'no line twice after dedupe: one src per file, seq stable across restarts')
    const bySrc = new Map<string, number[]>()
    for (const e of unique) bySrc.set(e.src, [...(bySrc.get(e.src) ?? []), e.seq])
    t.equal(bySrc.size, FILES, 'one src per file, kept across restarts')
    const left = names(d).filter((n) => !n.startsWith('.tsf-spool/'))
    t.equal(left.filter((n) => n.endsWith('.COMPLETED')).length, FILES, 'every file renamed')
    t.same(
      left.filter((n) => !n.endsWith('.COMPLETED')),
      [],
      'nothing else left (nothing quarantined)',
    )
    void total
  },
)
