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
const roffText = (s: string): string => s.replace(/\\-/g, '-').replace(/\\\(hy/g, '-').replace(/\\f[BIRP]/g, '')

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
    for (const option of cmd.options) for (const flag of option.flags) t.ok(read('completions/tsf.bash').includes(flag), `bash knows ${cmd.name} ${flag}`)
  }
  execFileSync('bash', ['-n', new URL('completions/tsf.bash', root).pathname])
})

t.test('tsf completion prints the committed scripts', async (t) => {
  const bin = new URL('bin/tsf.js', root).pathname
  t.equal(execFileSync('node', [bin, 'completion', 'bash'], { encoding: 'utf8' }), read('completions/tsf.bash'))
  t.equal(execFileSync('node', [bin, 'completion', 'fish'], { encoding: 'utf8' }), read('completions/tsf.fish'))
  t.throws(() => execFileSync('node', [bin, 'completion', 'tcsh'], { stdio: 'pipe' }), { status: 2 })
})
