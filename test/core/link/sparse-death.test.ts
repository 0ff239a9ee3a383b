import t from 'tap'
import { writeFileSync, existsSync, readFileSync } from 'node:fs'
import { fixture, lines, pidOf, sh, tmpdir, until } from '../../fixtures/procs.js'

// A writer with sparse cursors (docs/protocol.md §1) killed -9 in the middle of a write: the
// reader read lines of that write whose cursor never came. At EOF they are checked and delivered,
// unacked, like any line read after the writer's last ack, and the reader says so (not that a
// count did not add up: nothing counted wrong). They keep their src and seq, so the copies the
// restarted writer sends (from its last ack) are removed by a sink that dedupes on them.
const W = fixture('link-writer.mjs')
const R = fixture('link-reader.mjs')

interface Event {
  body: string
  src?: string
  seq?: number
  _ack?: string
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

t.test(
  'a sparse writer killed -9 mid-write: its lines without their cursor are delivered at EOF, said truly, and a restart doubles none past a dedupe',
  async (t) => {
    const dir = tmpdir(t)
    // the pipe kept at 64 KiB (TSF_PIPE_SIZE=0): the 300 KB line must not fit it whole
    const run = sh(t, `TSF_PIPE_SIZE=0 ${W} 100 ck --burst-when go | ${R} out`, { cwd: dir })
    await until(() => existsSync(`${dir}/go.ready`), 30_000, 'the writer linked, sparse, every event acked', run.stderr)
    const reader = pidOf(`${dir}/out.pid`)
    const writer = pidOf(`${dir}/ck.pid`)
    // the reader stops with the pipe empty: the writer's next write (longer than a pipe holds)
    // fills it with its 20 short lines and the start of its long one; then the writer kills itself
    process.kill(reader, 'SIGSTOP')
    writeFileSync(`${dir}/go`, '')
    await until(() => !alive(writer), 30_000, 'the writer to die mid-write', run.stderr)
    process.kill(reader, 'SIGCONT')
    const r = await run.done
    t.equal(r.code, 3, `the reader saw its writer die: ${r.stderr}`)
    t.notMatch(r.stderr, /did not add up|another program/, 'no count went wrong, no other program is blamed')
    t.match(r.stderr, /\b20 lines of a writer that died mid-write came without their cursor: delivered, unacked/, 'the held lines, counted')
    t.match(r.stderr, /discarded an unterminated last line/, 'the torn long line is not delivered (it is re-sent)')
    const acked = Number(readFileSync(`${dir}/ck`, 'utf8'))
    t.equal(acked, 102, 'acked up to the last cursor read, not past it')
    const first = lines(`${dir}/out`).map((l) => JSON.parse(l) as Event)
    t.same(
      first.map((e) => e.seq),
      Array.from({ length: 122 }, (_, k) => k + 1),
      'every line read is delivered once, the 20 of the cut write among them',
    )
    t.ok(
      first.every((e) => e._ack === undefined && e.src === 'w' && e.body === `w event ${e.seq}`),
      'each as its writer wrote it (src and seq kept), without a cursor',
    )
    // restarted: the writer goes on from its last ack, so the 20 come again
    const again = await sh(t, `${W} 122 ck2 --from ${acked + 1} | ${R} out`, { cwd: dir }).done
    t.equal(again.code, 0, again.stderr)
    const all = lines(`${dir}/out`).map((l) => JSON.parse(l) as Event)
    t.equal(all.length, 142, 'the 20 unacked lines were delivered twice')
    const seen = new Set<number>()
    t.same(
      all.filter((e) => !seen.has(e.seq!) && seen.add(e.seq!)).map((e) => e.body),
      Array.from({ length: 122 }, (_, k) => `w event ${k + 1}`),
      'deduped on (src, seq): every event once, in order',
    )
  },
)
