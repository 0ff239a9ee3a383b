import t from 'tap'
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { freePort, rolledLines, stagePid } from './fixtures/pipelines.js'
import { root, sh, tmpdir, until, type Running } from './fixtures/procs.js'

// Every agent and collector recipe of docs/flume-migration.md, run as written with only its paths
// and addresses moved into a test directory: two collectors (collect | roll), the agent, lines
// appended to the log while the first collector is killed -9 and restarted. Nothing may be lost
// (best effort excepted, and it runs with both collectors up).

const doc = readFileSync(join(root, 'docs/flume-migration.md'), 'utf8')
const recipes = [...doc.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.replace(/\\\n\s*/g, '').trim())
const collector = recipes.filter((r) => r.startsWith('tsf collect'))
const agents = recipes.filter((r) => r.startsWith('tsf tail'))

const tsfCommand = (line: string): string => line.replace(/(^|\| )tsf /g, `$1node ${root}bin/tsf.js `)

t.test('the recipes are there: one collector, five agents', async (t) => {
  t.equal(collector.length, 1)
  t.equal(agents.length, 5, agents.join('\n'))
})

for (const agent of agents) {
  const bestEffort = agent.includes('--best-effort')
  const filtered = agent.includes('tsf filter')
  t.test(`as written: ${agent}`, async (t) => {
    const dir = tmpdir(t)
    mkdirSync(join(dir, 'logs'))
    const ports = [await freePort(), await freePort()]
    const collectors: Running[] = []
    const startCollector = async (i: number): Promise<void> => {
      const cmd = tsfCommand(collector[0]!)
        .replace('0.0.0.0:52020', `127.0.0.1:${ports[i]}`)
        .replace(/'\/data\//g, `'${dir}/data${i}/`)
      collectors[i] = sh(t, cmd, { cwd: dir })
      await until(() => /listening on/.test(collectors[i]!.stderr()), 30_000, `collector ${i + 1} to listen`, collectors[i]!.stderr)
    }
    await startCollector(0)
    await startCollector(1)
    const cmd = tsfCommand(agent)
      .replace(/collector1:52020/g, `127.0.0.1:${ports[0]}`)
      .replace(/collector2:52020/g, `127.0.0.1:${ports[1]}`)
      .replace(/\/var\/log\/app/g, `${dir}/logs`)
      .replace(/\/var\/lib\/tsf\//g, `${dir}/state/`)
      .replace(/\/var\/spool\/tsf\//g, `${dir}/spool/`)
    const run = sh(t, cmd, { cwd: dir })
    let written = 0
    const append = (n: number): void => {
      let text = ''
      for (let k = 0; k < n; k++) {
        written++
        text += `${written % 4 ? 'INFO:' : 'DEBUG:'} line ${written}\n`
      }
      appendFileSync(join(dir, 'logs/app.log'), text)
    }
    const delivered = (): Set<string> => new Set([...rolledLines(join(dir, 'data0')), ...rolledLines(join(dir, 'data1'))])
    const expected = (): string[] => {
      const out: string[] = []
      for (let i = 1; i <= written; i++) if (!filtered || i % 4) out.push(`${i % 4 ? 'INFO:' : 'DEBUG:'} line ${i}`)
      return out
    }
    append(2000)
    await until(() => delivered().size >= 500, 60_000, 'first lines delivered', run.stderr)
    if (!bestEffort) {
      process.kill(stagePid(collectors[0]!, 'collect'), 'SIGKILL')
      await collectors[0]!.done
      append(2000)
      await startCollector(0)
    } else append(2000)
    await until(
      () => expected().every((l) => delivered().has(l)),
      90_000,
      'every line delivered',
      () => `${delivered().size} of ${expected().length}; agent: ${run.stderr()}`,
    )
    t.pass(`every line delivered (${expected().length})`)
    if (filtered)
      t.notOk(
        [...delivered()].some((l) => l.startsWith('DEBUG')),
        'and no line the filter dropped',
      )
    if (bestEffort) t.notMatch(run.stderr(), /dropped/, 'nothing dropped while the collectors were up')
  })
}
