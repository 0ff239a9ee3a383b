import t from 'tap'
import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

// The rules the layers keep (docs/architecture.md), read from the sources' import lines: a
// command wires options and calls runCommand; an engine takes (config, rt) and never reaches up
// into src/commands; core imports no stage.
const root = fileURLToPath(new URL('..', import.meta.url))
const src = join(root, 'src')

const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  )
const sources = files(src).map((path) => ({ path: relative(src, path), text: readFileSync(path, 'utf8') }))

// the src-relative files a module imports (static, type-only and dynamic), without the .js
const importsOf = (file: string, text: string): string[] =>
  [...text.matchAll(/(?:from\s+|import\s*\(\s*)'(\.{1,2}\/[^']+)'/g)].map((m) =>
    relative(src, join(src, dirname(file), m[1]!)).replace(/\.js$/, ''),
  )
const layer = (path: string): string => path.split('/')[0]!.replace(/\.ts$/, '')

t.test('only src/commands calls runCommand: every engine is run(config, rt)', async (t) => {
  const callers = sources.filter((f) => /\brunCommand\(/.test(f.text) && !f.path.startsWith('commands/') && f.path !== 'core/runtime.ts')
  t.same(
    callers.map((f) => f.path),
    [],
  )
})

t.test('nothing but the CLI and the commands imports src/commands', async (t) => {
  const upward = sources.flatMap((f) =>
    f.path.startsWith('commands/') || f.path === 'cli.ts'
      ? []
      : importsOf(f.path, f.text)
          .filter((i) => layer(i) === 'commands')
          .map((i) => `${f.path} → ${i}`),
  )
  t.same(upward, [])
})

t.test('core imports no stage', async (t) => {
  const stages = sources.flatMap((f) =>
    f.path.startsWith('core/')
      ? importsOf(f.path, f.text)
          .filter((i) => layer(i) !== 'core')
          .map((i) => `${f.path} → ${i}`)
      : [],
  )
  t.same(stages, [])
})

// Known crossings, to move to where both sides can reach them; a new one fails here.
const KNOWN_CROSSINGS = ['sources/kafka/collect.ts → sinks/print', 'sources/tcp/collect.ts → sinks/print']

t.test('sources and sinks do not import each other (but for the known crossings)', async (t) => {
  const crossings = sources.flatMap((f) => {
    const from = layer(f.path)
    if (from !== 'sources' && from !== 'sinks') return []
    const other = from === 'sources' ? 'sinks' : 'sources'
    return importsOf(f.path, f.text)
      .filter((i) => layer(i) === other)
      .map((i) => `${f.path} → ${i}`)
  })
  t.same([...new Set(crossings)].sort(), KNOWN_CROSSINGS)
})
