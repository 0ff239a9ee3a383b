import t, { type Test } from 'tap'
import { join } from 'node:path'
import { existsSync, readFileSync } from 'node:fs'
import { commandNames } from '../dist/cli.js'
import { root, sh, tmpdir, tsf } from './fixtures/procs.js'

// Every stage of a pipeline pays its start-up: `tsf <cmd> --help` (and a usage error) load the
// options of their command, never its engine, the ack link, a client library or the builtins that
// open sockets, files or processes. Checked on the modules loaded, not on time (a loaded machine
// makes any time threshold flaky).
const loadedBy = async (t: Test, args: string): Promise<{ stdout: string; modules: string[] }> => {
  const list = join(tmpdir(t), 'loaded')
  const r = await sh(t, `${tsf.replace(/^node /, `node --import ${root}test/fixtures/loaded-modules.mjs `)} ${args}`, {
    env: { TSF_TEST_LOADED: list },
  }).done
  t.equal(r.code, 0, `${args}: exit 0 (${r.stderr})`)
  const modules = existsSync(list) ? readFileSync(list, 'utf8').split('\n').filter(Boolean) : []
  return { stdout: r.stdout, modules: modules.map((u) => u.replace(`file://${root}`, '')) }
}

// what no --help needs: engines' libraries, the builtins of I/O beyond reading package.json,
// node:v8 (user patterns' linear-time fallback is set when the first one is compiled)
const heavy = [
  /^node_modules\/(?!commander\/)/,
  /^dist\/core\/link\//,
  /wasm/,
  /engine\.js$/,
  /^node:(net|tls|http|https|dgram|child_process|zlib|crypto|fs\/promises|worker_threads|vm|v8)$/,
  // what a command runs with (signal handlers, counters): loaded by runCommand, not by the options
  /^dist\/core\/(metrics|shutdown)\.js$/,
  // commander is required as CommonJS: its ESM wrapper would make node's ES module loader
  // translate it first
  /^node_modules\/commander\//,
]

t.test('tsf <cmd> --help loads no engine, no ack link, no client library', async (t) => {
  // the loader hook itself (register) is in the list of the process too: it is not tsf's
  for (const cmd of commandNames) {
    const { stdout, modules } = await loadedBy(t, `${cmd} --help`)
    t.match(stdout, new RegExp(`^Usage: tsf ${cmd} `), `${cmd} --help prints its help`)
    t.ok(modules.includes(`dist/commands/${cmd}.js`), `${cmd}: the list is of this process (${modules.length} modules)`)
    t.same(
      modules.filter((m) => heavy.some((h) => h.test(m))),
      [],
      `${cmd} --help: nothing heavy`,
    )
    t.same(
      modules.filter(
        (m) =>
          m.startsWith('dist/commands/') && !m.startsWith(`dist/commands/${cmd}`) && !/\/(common|kafka-options|ship-[a-z]+)\.js$/.test(m),
      ),
      [],
      `${cmd} --help: no other command`,
    )
  }
})

t.test('tsf --version loads no command', async (t) => {
  const { stdout, modules } = await loadedBy(t, '--version')
  t.match(stdout, /^\d+\.\d+\.\d+/)
  t.ok(modules.includes('dist/cli.js'))
  t.same(
    modules.filter((m) => m.startsWith('dist/commands/') || heavy.some((h) => h.test(m))),
    [],
  )
})
