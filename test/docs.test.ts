import t from 'tap'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { makeProgram } from '../src/cli.js'
// @ts-expect-error plain ESM script without types
import { describeProgram, render } from '../scripts/completions.mjs'

// The man pages and completions must know every command and option commander knows.
const root = new URL('..', import.meta.url)
const read = (p: string): string => readFileSync(new URL(p, root), 'utf8')
type Described = { name: string; options: { flags: string[] }[] }
const commands = describeProgram(await makeProgram()) as Described[]

// roff writes a dash as \- (or \(hy); normalise before looking for an option
const roffText = (s: string): string =>
  s
    .replace(/\\-/g, '-')
    .replace(/\\\(hy/g, '-')
    .replace(/\\f[BIRP]/g, '')

t.test('every command has a man page that names each of its options', async (t) => {
  const main = roffText(read('man/tsf.1'))
  for (const cmd of commands) {
    t.match(main, new RegExp(`tsf-${cmd.name}|tsf ${cmd.name}`), `tsf.1 mentions ${cmd.name}`)
    const page = cmd.name === 'completion' ? 'man/tsf.1' : `man/tsf-${cmd.name}.1`
    if (!existsSync(new URL(page, root))) {
      t.fail(`${page} is missing`)
      continue
    }
    const text = roffText(read(page))
    for (const section of ['NAME', 'SYNOPSIS', 'DESCRIPTION', 'EXAMPLES', 'EXIT STATUS', 'SEE ALSO']) {
      if (cmd.name !== 'completion') t.match(text, new RegExp(`^\\.SH "?${section}`, 'm'), `${page} has ${section}`)
    }
    for (const option of cmd.options) {
      for (const flag of option.flags) {
        if (flag === '-h' || flag === '--help') continue
        t.ok(text.includes(flag), `${page} documents ${flag}`)
      }
    }
  }
})

t.test('package.json lists every man page', async (t) => {
  const pkg = JSON.parse(read('package.json')) as { man: string[] }
  for (const cmd of commands.filter((c) => c.name !== 'completion')) t.ok(pkg.man.includes(`./man/tsf-${cmd.name}.1`), cmd.name)
  for (const page of pkg.man) t.ok(existsSync(new URL(page, root)), `${page} exists`)
})

t.test('the committed completions are what the commander definitions render', async (t) => {
  const rendered = render(await makeProgram()) as Record<string, string>
  for (const [file, text] of Object.entries(rendered)) {
    t.equal(read(`completions/${file}`), text, `completions/${file} is up to date (run: npm run build && node scripts/gen-completions.mjs)`)
  }
  for (const cmd of commands) {
    for (const option of cmd.options)
      for (const flag of option.flags) t.ok(read('completions/tsf.bash').includes(flag), `bash knows ${cmd.name} ${flag}`)
  }
  execFileSync('bash', ['-n', new URL('completions/tsf.bash', root).pathname])
})

t.test('tsf completion prints the committed scripts', async (t) => {
  const bin = new URL('bin/tsf.js', root).pathname
  t.equal(execFileSync('node', [bin, 'completion', 'bash'], { encoding: 'utf8' }), read('completions/tsf.bash'))
  t.equal(execFileSync('node', [bin, 'completion', 'fish'], { encoding: 'utf8' }), read('completions/tsf.fish'))
  t.throws(() => execFileSync('node', [bin, 'completion', 'tcsh'], { stdio: 'pipe' }), { status: 2 })
})

// Files tracked by git, for the checks that walk the repository's own text.
const tracked = execFileSync('git', ['ls-files'], { cwd: root, encoding: 'utf8' })
  .split('\n')
  .filter((f) => /\.(ts|mjs|js|md|1)$/.test(f) && !f.startsWith('test/docs.test.ts'))

t.test('nothing in the repository cites a file outside it', async (t) => {
  for (const file of tracked) {
    const text = read(file)
    t.notMatch(text, /DESIGN\.md|\.\.\/shared\/|\/work\/shared/, `${file} cites only the repository's own files`)
  }
})

t.test('every relative link of README.md and docs/*.md names a file that exists', async (t) => {
  for (const file of tracked.filter((f) => f.endsWith('.md'))) {
    for (const m of read(file).matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
      const target = m[1]!
      if (/^[a-z]+:/.test(target)) continue
      t.ok(existsSync(new URL(target, new URL(file, root))), `${file} links to ${target}`)
    }
  }
})

t.test('every repository file that README.md, docs/, the man pages and the code name exists', async (t) => {
  for (const file of tracked.filter((f) => f.endsWith('.md') || /^(man|src|scripts)\//.test(f))) {
    for (const m of read(file).matchAll(
      /(?<![\w./-])((?:src|test|docs|scripts|examples|bench)\/[\w./-]+\.(?:ts|mjs|md|js|conf|service))\b/g,
    )) {
      t.ok(existsSync(new URL(m[1]!, root)), `${file} names ${m[1]}`)
    }
  }
})

t.test('README.md has a section with a copy-pasteable example for every command', async (t) => {
  const readme = read('README.md')
  t.match(readme, /## Quick start\n[^#]*```sh\n[^`]*npx tsf demo/, 'the quick start runs tsf demo')
  for (const cmd of commands.filter((c) => c.name !== 'completion' && c.name !== 'demo')) {
    const section = readme.split(/^### /m).find((s) => s.startsWith(`tsf ${cmd.name}`))
    t.ok(section, `README has a section for tsf ${cmd.name}`)
    t.match(section ?? '', new RegExp('```sh\\n[^`]*tsf ' + cmd.name + '\\b'), `its example runs tsf ${cmd.name}`)
  }
})

t.test('docs/metrics.md names every counter and gauge a command serves', async (t) => {
  const metrics = read('docs/metrics.md')
  const names = new Set<string>()
  for (const file of tracked.filter((f) => f.startsWith('src/') && f.endsWith('.ts'))) {
    for (const m of read(file).matchAll(
      /counters\.(?:add|gauge|set)\(\s*(?:[^'()]*\?\s*)?'([A-Z][A-Za-z]+)'(?:\s*:\s*'([A-Z][A-Za-z]+)')?/g,
    )) {
      names.add(m[1]!)
      if (m[2]) names.add(m[2])
    }
  }
  t.ok(names.size > 30, `found the counters in src (${names.size})`)
  for (const name of names) t.ok(metrics.includes(`\`${name}\``), `docs/metrics.md documents ${name}`)
})
