import t from 'tap'
import { readFileSync, writeFileSync, existsSync } from 'node:fs'
import { fixture, lines, sh, tmpdir, until } from '../../fixtures/procs.js'

// What a reader holds for one cursor is bounded (docs/protocol.md §1): its frame plus 256 KiB of
// lines, then they are another program's and are checked. The writer here (a fixture speaking the
// link by hand) first keeps the rule (4 MiB without a cursor, then one that adds up: vouched, no
// warning), then breaks it: 12 MiB of lines without a cursor, and it stays alive with its stdout
// open. The reader must not hold them waiting: it checks and delivers every one while the writer
// is still there, says why, and acks the writer's next cursor. In each batch form.
const LIAR = fixture('sparse-liar.mjs')
const R = fixture('link-reader.mjs')
const VOUCHED = 4096 // ~4 MiB of ~1 KiB lines
const UNVOUCHED = 12_288 // ~12 MiB: more than the bound (8 MiB frame + 64 KiB + 256 KiB)
const TOTAL = 1 + VOUCHED + 1 + UNVOUCHED + 1

for (const form of ['', '--lines', '--spans']) {
  t.test(
    `a writer that never puts its cursor: the reader holds at most its bound, then checks and delivers (${form || 'heads'})`,
    async (t) => {
      const dir = tmpdir(t)
      const run = sh(t, `${LIAR} ${VOUCHED} ${UNVOUCHED} | ${R} out ${form}`, { cwd: dir })
      await until(() => existsSync(`${dir}/vouched`), 120_000, 'the vouched lines acked', run.stderr)
      t.notMatch(run.stderr(), /without a cursor|did not add up/, 'lines its cursor vouched for: no check, no warning')
      await until(
        () => lines(`${dir}/out`).length === TOTAL - 1,
        120_000,
        () => `every line delivered while their writer is alive (${lines(`${dir}/out`).length} of ${TOTAL - 1})`,
        run.stderr,
      )
      t.match(run.stderr(), /more than \d+ bytes of lines without a cursor from a directly linked writer/, 'said why')
      writeFileSync(`${dir}/end`, '')
      const r = await run.done
      t.equal(r.code, 0, r.stderr)
      t.equal(Number(readFileSync(`${dir}/acked`, 'utf8')), TOTAL, "the writer's last cursor acked")
      const events = lines(`${dir}/out`).map((l) => JSON.parse(l) as { body: string; seq: number; _ack?: string })
      t.same(
        events.map((e) => e.seq),
        Array.from({ length: TOTAL }, (_, k) => k + 1),
        'every line once, in order',
      )
      t.ok(
        events.every((e) => e._ack === undefined && e.body.startsWith(`${e.seq} x`)),
        'each as written, without a cursor',
      )
    },
  )
}
