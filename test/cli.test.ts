import t from 'tap'
import { join } from 'node:path'
import { readFileSync } from 'node:fs'
import { sh, tmpdir, tsf } from './fixtures/procs.js'

// Help read by a reader that stops early closes the pipe while help is being written.
t.test('tsf --help | head -1 ends quietly: no EPIPE stack trace, exit 0', async (t) => {
  const dir = tmpdir(t)
  for (const args of ['--help', 'tail --help', 'ship --help', 'help collect', '--version']) {
    // a reader gone before tsf writes: the write meets EPIPE
    const r = await sh(t, `{ sleep 0.2; ${tsf} ${args}; echo $? > ${dir}/rc; } | true`).done
    t.notMatch(r.stderr, /EPIPE|Unhandled|\n\s+at /, `${args}: no stack trace`)
    t.equal(readFileSync(join(dir, 'rc'), 'utf8').trim(), '0', `${args}: exit 0`)
    const h = await sh(t, `${tsf} ${args} | head -1`).done
    t.match(h.stdout, args === '--version' ? /^\d/ : /^Usage: tsf/, `${args}: the first line`)
    t.equal(h.stderr, '', `${args}: nothing on stderr`)
  }
})

t.test('tsf exec tail -F x: a usage error that says what to type', async (t) => {
  const r = await sh(t, `${tsf} exec tail -F x`).done
  t.equal(r.code, 2)
  t.match(
    r.stderr,
    /tsf exec: error: '-F' is an option of tail, not of tsf exec: put -- before the command, as in: tsf exec -- tail -F x\n$/,
  )
  const withOwn = await sh(t, `${tsf} exec --restart tail -n 'a b'`).done
  t.equal(withOwn.code, 2)
  t.match(withOwn.stderr, /as in: tsf exec --restart -- tail -n 'a b'/, "exec's own options stay before --")
  const fine = await sh(t, `${tsf} exec -- echo -n hi`).done
  t.equal(fine.code, 0, fine.stderr)
  t.match(fine.stdout, /"body":"hi"/, "with -- the options are the command's")
})

t.test('a usage error caught by the option parser is one line naming the stage, with its suggestion', async (t) => {
  for (const [args, line] of [
    ['tail --stat x', /^tsf tail: error: unknown option '--stat' \(Did you mean --state\?\) \(see tsf tail --help\)\n$/],
    ['ship', /^tsf ship: error: missing required argument 'dest' \(see tsf ship --help\)\n$/],
    ['filter --keep', /^tsf filter: error: option '--keep <regex>' argument missing \(see tsf filter --help\)\n$/],
    ['tial', /^tsf: error: unknown command 'tial' \(Did you mean tail\?\) \(see tsf --help\)\n$/],
    ['ship --linger bogus x', /^tsf ship: error: --linger: expected a duration such as 250ms, 30s, 10m or 1h, got 'bogus'\n$/],
    ['top 127.0.0.1:1 --once --sort bogus', /^tsf top: error: --sort: expected one of /],
  ] as const) {
    const r = await sh(t, `${tsf} ${args}`).done
    t.equal(r.code, 2, `${args}: exit 2`)
    t.match(r.stderr, line, `${args}: ${r.stderr}`)
  }
})
