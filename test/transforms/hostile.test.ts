import t from 'tap'
import { writeFileSync } from 'node:fs'
import { fixture, lines, sh, tmpdir, tsf } from '../fixtures/procs.js'

// tsf filter against input an attacker writes: lines that make a backtracking pattern take
// exponential time, bytes that are not UTF-8. Each run must finish with every event kept or
// dropped as its steps say (a filter stuck in one match neither passes events nor stops on SIGTERM).
const R = fixture('link-reader.mjs')
type Event = { body: string; body64?: string; headers?: Record<string, string>; cont?: boolean }
const events = (path: string): Event[] => lines(path).map((l) => JSON.parse(l) as Event)

t.test('catastrophic backtracking: every step with a regex finishes on lines built to defeat it', async (t) => {
  const dir = tmpdir(t)
  // (a+)+$ on 'aaa…a!' backtracks 2^n times before failing: 5000 a's is forever without the
  // linear-time fallback (26 take ~30 s on a loaded machine)
  const evil = `${'a'.repeat(5000)}!`
  writeFileSync(`${dir}/in.txt`, `type=db ok\n${evil}\n${evil}\ntype=web fine\n`)
  for (const [args, kept] of [
    [`--drop '(a+)+$'`, 4],
    [`--keep '^(a+)+$'`, 0],
    [`--extract '(?<x>(a|aa)+$)'`, 4],
    [`--keep-if 'body~^(a+)+$'`, 0],
    [`--drop-if 'body~(a|a)+$'`, 4],
    [`--set k=v --remove-header '/^(k+)+$/'`, 4],
    [`--ts-regex '((a+)+)$'`, 4],
  ] as const) {
    const r = await sh(t, `${tsf} filter ${args} < in.txt | ${R} out`, { cwd: dir }).done
    t.equal(r.code, 0, `${args}: ${r.stderr}`)
    t.equal(lines(`${dir}/out`).length, kept, `${args}: ${kept} kept`)
    writeFileSync(`${dir}/out`, '')
  }
})

t.test('bytes that are not UTF-8: matched on their readable rendering, forwarded byte for byte', async (t) => {
  const dir = tmpdir(t)
  const bad = Buffer.from([0x62, 0x61, 0x64, 0x20, 0xff, 0xfe, 0x20, 0xc3, 0x0a]) // "bad \xff\xfe \xc3"
  writeFileSync(`${dir}/in.log`, Buffer.concat([bad, Buffer.from('plain\n')]))
  const r = await sh(t, `${tsf} tail in.log --state st | ${tsf} filter --keep '^bad' --extract '(?<w>b.d)' --set x=y | ${R} out`, {
    cwd: dir,
  }).done
  t.equal(r.code, 0, r.stderr)
  const [e, ...rest] = events(`${dir}/out`)
  t.equal(rest.length, 0, 'only the matching line kept')
  t.equal(Buffer.from(e!.body64!, 'base64').toString('hex'), bad.subarray(0, -1).toString('hex'), 'the original bytes still there')
  t.same([e!.headers!.w, e!.headers!.x], ['bad', 'y'], 'headers set on it')
})

// odd lines are cut into pieces (--max-line 1024); only the first piece shows the route. Cut by
// tail (pieces with headers, src, seq), or by the first filter's reader (plain pieces without
// headers: the headers it adds must leave cont last, where the second filter looks for it).
for (const [how, pipeline] of [
  [
    'by tail',
    `${tsf} tail in.log --state st --max-line 1024 | ${tsf} filter --extract '^(?<type>db|web) ' --keep-if headers.type=db --drop 'line 9 '`,
  ],
  [
    'by a filter, judged by the next',
    `cat in.log | ${tsf} filter --max-line 1024 --extract '^(?<type>db|web) ' | ${tsf} filter --keep-if headers.type=db --drop 'line 9 '`,
  ],
] as const) {
  t.test(`a line cut into pieces ${how} is kept or dropped whole, every piece with the same headers`, async (t) => {
    const dir = tmpdir(t)
    let log = ''
    for (let i = 1; i <= 12; i++) log += `${['db', 'web', 'misc'][i % 3]} line ${i} ${'x'.repeat(i % 2 ? 3000 : 10)} END${i}\n`
    writeFileSync(`${dir}/in.log`, log)
    const r = await sh(t, `${pipeline} | ${R} out`, { cwd: dir }).done
    t.equal(r.code, 0, r.stderr)
    const got = events(`${dir}/out`)
    t.ok(
      got.every((e) => e.headers?.type === 'db'),
      'every piece kept carries the header its first piece got',
    )
    const whole = got
      .map((e) => e.body + (e.cont ? '' : '\n'))
      .join('')
      .split('\n')
      .filter(Boolean)
    const expected = log.split('\n').filter((l) => l.startsWith('db ') && !l.startsWith('db line 9 '))
    t.same(whole, expected, 'the db lines whole (the dropped one wholly gone), nothing of the others')
  })
}
