import t from 'tap'
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort, rolledLines } from '../fixtures/pipelines.js'
import { root, sh, tmpdir, until } from '../fixtures/procs.js'

// The recipes of docs/filter.md not run elsewhere (the routing recipe: route.test.ts), as written
// with only their paths and addresses moved into a test directory: the agent and collector of
// its first example, and the collector that routes by %{type} in roll's path.
const doc = readFileSync(join(root, 'docs/filter.md'), 'utf8')
const firstBlock = /```sh\n([\s\S]*?)```/
  .exec(doc)![1]!
  .split('\n')
  .filter((l) => l.startsWith('tsf '))
const byHeader = /`(tsf collect [^`]*%\{type\}[^`]*)`/.exec(doc)![1]!

const localize = (line: string, dir: string, port: number): string =>
  line
    .replace(/(^|\| )tsf /g, `$1node ${root}bin/tsf.js `)
    .replace(/0\.0\.0\.0:52020|c1:52020/g, `127.0.0.1:${port}`)
    .replace(/\/var\/log\//g, `${dir}/logs/`)
    .replace(/'?\/data\//g, (m) => `${m.startsWith("'") ? "'" : ''}${dir}/data/`)

t.test("filter.md's first example, agent and collector as written: every kept line arrives once, no DEBUG line", async (t) => {
  t.equal(firstBlock.length, 2, 'an agent and a collector')
  const dir = tmpdir(t)
  mkdirSync(join(dir, 'logs'))
  writeFileSync(join(dir, 'logs/app.log'), '')
  const port = await freePort()
  const collector = sh(t, localize(firstBlock[1]!, dir, port), { cwd: dir })
  await until(() => /listening on/.test(collector.stderr()), 30_000, 'the collector', collector.stderr)
  // without --state, tail keeps its checkpoints under $XDG_STATE_HOME
  const agent = sh(t, localize(firstBlock[0]!, dir, port), { cwd: dir, env: { XDG_STATE_HOME: join(dir, 'state') } })
  let text = ''
  for (let i = 1; i <= 300; i++) text += `${i % 3 ? 'ERROR' : 'DEBUG'}: line ${i}\n`
  appendFileSync(join(dir, 'logs/app.log'), text)
  const got = (): string[] => rolledLines(join(dir, 'data/logs'))
  await until(
    () => got().length >= 200,
    60_000,
    'every kept line',
    () => `${got().length}; ${agent.stderr()}`,
  )
  const bodies = got()
  t.equal(new Set(bodies).size, 200, 'the 200 ERROR lines, each once')
  t.notOk(
    bodies.some((b) => b.startsWith('DEBUG')),
    'no DEBUG line',
  )
})

t.test("filter.md's %{type} collector as written: each event in the directory of its header", async (t) => {
  const dir = tmpdir(t)
  mkdirSync(join(dir, 'logs'))
  writeFileSync(join(dir, 'logs/app.log'), '')
  const port = await freePort()
  const collector = sh(t, localize(byHeader, dir, port), { cwd: dir })
  await until(() => /listening on/.test(collector.stderr()), 30_000, 'the collector', collector.stderr)
  const agent = sh(
    t,
    `node ${root}bin/tsf.js tail -F logs/app.log --state st | node ${root}bin/tsf.js filter --extract '^(?<type>db|web) ' | node ${root}bin/tsf.js ship 127.0.0.1:${port}`,
    { cwd: dir },
  )
  let text = ''
  for (let i = 1; i <= 300; i++) text += `${['db', 'web', 'misc'][i % 3]} line ${i}\n`
  appendFileSync(join(dir, 'logs/app.log'), text)
  const all = (): string[] => rolledLines(join(dir, 'data'))
  await until(
    () => all().length >= 300,
    60_000,
    'every line',
    () => `${all().length}; ${agent.stderr()}`,
  )
  t.ok(
    rolledLines(join(dir, 'data/db')).every((b) => b.startsWith('db ')),
    'data/db holds db lines only',
  )
  t.equal(rolledLines(join(dir, 'data/db')).length, 100)
  t.equal(rolledLines(join(dir, 'data/web')).length, 100)
  t.equal(new Set(all()).size, 300, 'every line once, the misc ones in the directory of no type')
})
