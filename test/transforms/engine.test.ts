import t from 'tap'
import { writeFileSync } from 'node:fs'
import { fixture, lines, readNumber, sh, tmpdir, tsf } from '../fixtures/procs.js'

// tsf filter as a stage of the ack link, between real processes: test/fixtures/link-writer.mjs
// emits "w event N" and saves the highest N it may checkpoint; link-reader.mjs appends, fsyncs,
// then acks. ODD drops the odd-numbered events.
const W = fixture('link-writer.mjs')
const R = fixture('link-reader.mjs')
const ODD = '--drop "event [0-9]*[13579]$"'

t.test('drops are acked at once: the writer checkpoints everything, the reader gets the kept ones', async (t) => {
  const dir = tmpdir(t)
  const r = await sh(t, `${W} 20001 ck | ${tsf} filter ${ODD} | ${R} out`, { cwd: dir }).done
  t.equal(r.code, 0, r.stderr)
  t.equal(readNumber(`${dir}/ck`), 20001, 'the last event, dropped, is acked too')
  t.equal(lines(`${dir}/out`).length, 10000)
  t.match(r.stderr, /mode acked unacked 0/)
  t.match(r.stderr, /kept 10000 event\(s\), dropped 10001/)
  t.notMatch(r.stderr, /best effort|checkpointing on write/)
})

t.test('a route that passes nothing never stalls nor downgrades its source', async (t) => {
  const dir = tmpdir(t)
  // far more than the writer's window, all dropped: without acks for drops the writer would wait forever
  const r = await sh(t, `${W} 20000 ck --window 20000 --link-timeout 300 | ${tsf} filter --keep-if headers.type=db | ${R} out`, {
    cwd: dir,
  }).done
  t.equal(r.code, 0, r.stderr)
  t.equal(readNumber(`${dir}/ck`), 20000)
  t.equal(lines(`${dir}/out`).length, 0)
  t.notMatch(r.stderr, /best effort|no acks for/)
})

t.test('bad usage: one line, exit 2', async (t) => {
  const dir = tmpdir(t)
  for (const [args, message] of [
    ['', /no step given/],
    ["--keep '('", /--keep: not a valid regular expression/],
    ['--keep-if nonsense', /--keep-if: expected FIELD=VALUE or FIELD~REGEX/],
    ["--extract '(x)'", /--extract: name the groups/],
  ] as const) {
    const r = await sh(t, `echo x | ${tsf} filter ${args}`, { cwd: dir }).done
    t.equal(r.code, 2, `${args}: ${r.stderr}`)
    t.match(r.stderr, message)
    t.equal(r.stderr.trim().split('\n').length, 1, 'one line')
  }
})

t.test("docs/filter.md's collector example: -H, --host-ip and --ts-format clf on access-log lines", async (t) => {
  const dir = tmpdir(t)
  writeFileSync(`${dir}/in.log`, '10.0.0.1 - - [02/Dec/2026:10:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "curl/8"\n')
  const r = await sh(t, `${tsf} tail in.log --state st | ${tsf} filter -H dc=eu1 --host-ip --ts-format clf | ${R} out`, { cwd: dir }).done
  t.equal(r.code, 0, r.stderr)
  const [e] = lines(`${dir}/out`).map((l) => JSON.parse(l) as { ts: number; host: string; headers: Record<string, string> })
  t.equal(e!.ts, Date.parse('2026-12-02T10:00:00Z'), 'the time of the line')
  t.match(e!.host, /^[0-9a-f.:]+$/, 'an IP address')
  t.equal(e!.headers.dc, 'eu1')
  t.ok(e!.headers.file, 'the headers the source set are kept')
})
