import t from 'tap'
import { writeFileSync } from 'node:fs'
import { run, tsf, type Proc } from '../../fixtures/tcp-helpers.js'

// The MongoDB driver loads only for mongodb:// destinations: every other command starts without it.
// A module hook (node --import) says on stderr whenever the driver or its BSON library is resolved.

const cleanup = (t: { teardown: (fn: () => void) => void }, ...procs: Proc[]): void => t.teardown(() => procs.forEach((p) => p.kill()))

t.test('the driver loads for mongodb:// only', async (t) => {
  const dir = t.testdir()
  writeFileSync(
    `${dir}/hooks.mjs`,
    `export async function resolve(spec, ctx, next) {
  const r = await next(spec, ctx)
  if (/node_modules\\/(mongodb|bson)\\//.test(r.url)) process.stderr.write('DRIVER LOADED ' + spec + '\\n')
  return r
}
`,
  )
  writeFileSync(`${dir}/register.mjs`, `import { register } from 'node:module'\nregister(new URL('./hooks.mjs', import.meta.url))\n`)
  const traced = tsf.replace(/^node /, 'node --import ./register.mjs ')
  const cases: [string, boolean][] = [
    ['--help', false],
    ['ship --help', false],
    ['ship 127.0.0.1:1 --shutdown-timeout 1s < /dev/null', false],
    ['tail --help', false],
    ['ship mongodb://127.0.0.1:1/db/c --connect-timeout 300ms --shutdown-timeout 1s < /dev/null', true],
  ]
  for (const [args, loads] of cases) {
    const p = run(`${traced} ${args}`, dir)
    cleanup(t, p)
    await p.exited
    t.equal(/DRIVER LOADED/.test(p.stderr()), loads, `tsf ${args}: ${loads ? 'loads' : 'does not load'} the driver`)
  }
})
