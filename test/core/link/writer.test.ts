import t from 'tap'
import { writeFileSync } from 'node:fs'
import { fixture, lines, readNumber, sh, tmpdir, tsf } from '../../fixtures/procs.js'

const W = fixture('link-writer.mjs')
const R = fixture('link-reader.mjs')

t.test('several tsf exec writers into one pipe: no line is torn', async (t) => {
  const dir = tmpdir(t)
  writeFileSync(
    `${dir}/gen.js`,
    `const s = 'x'.repeat(300); let o = ''; for (let i = 0; i < 20000; i++) o += s + i + '\\n'; process.stdout.write(o)\n`,
  )
  const x = `${tsf} exec -- node gen.js`
  const r = await sh(t, `{ ${x} & ${x} & ${x} & ${x} & wait; } | cat > out`, { cwd: dir }).done
  t.equal(r.code, 0, r.stderr)
  const out = lines(`${dir}/out`)
  t.equal(out.length, 80000)
  let torn = 0
  for (const line of out) {
    try {
      JSON.parse(line)
    } catch {
      torn++
    }
  }
  t.equal(torn, 0, 'every line is whole JSON')
  t.equal(r.stderr.match(/same pipe/g)?.length, 4, 'each writer saw the others before its first write')
})

t.test('a waiting parent (timeout, GNU time, a shell) is not a second writer: full-size writes', async (t) => {
  const dir = tmpdir(t)
  const r = await sh(t, `timeout 120 ${W} 20000 ck | ${R} out`, { cwd: dir }).done
  t.equal(r.code, 0, r.stderr)
  t.notMatch(r.stderr, /same pipe/)
  t.equal(readNumber(`${dir}/ck`), 20000)
})
