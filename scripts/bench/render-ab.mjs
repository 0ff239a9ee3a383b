// The writer's render of a collector's batches alone, for A/B of two builds in one process: W1-shaped
// events (as collect-ab.mjs sends them) in 900 KiB batches, each decoded once (decodeBlock), then
// rendered by RenderBuffer.heads() with sparse cursors into chunks that are taken and given back (no
// I/O). Builds A and B alternate for 8 rounds; prints CPU-s per GiB of event bytes for each round.
// usage: node scripts/bench/render-ab.mjs ROOT_A ROOT_B LOG [MiB of LOG, default 64]
//   AB_DIRECT=1: the writer writes runs of lines as they lie (what collect's stdout does with
//     sparse cursors; the write itself is not made here)
//   ROOT_A, ROOT_B: directories holding dist/ (copies of two builds)
import { readFileSync } from 'node:fs'
import { w1Batches } from './w1-batches.mjs'
const [A, B, log, mib = '64'] = process.argv.slice(2)
const load = async (root) => ({
  RenderBuffer: (await import(`${root}/dist/core/link/render.js`)).RenderBuffer,
  decodeBlock: (await import(`${root}/dist/core/wire/batch.js`)).decodeBlock,
})
const impl = { A: await load(A), B: await load(B) }
const text = readFileSync(log, 'latin1').slice(0, Number(mib) * 2 ** 20)
const batches = w1Batches(text).map((b) => b.payload)
const eventBytes = batches.reduce((s, b) => s + b.length, 0)
const run = (which) => {
  const { RenderBuffer, decodeBlock } = impl[which]
  const blocks = batches.map((p) => decodeBlock(p, { maxEvent: 1 << 20 }))
  let out = 0
  const rb = new RenderBuffer(
    ',"_ack":"AAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBB.',
    true,
    () => {
      const c = rb.take()
      out += rb.taken
      rb.giveBack(c)
    },
    // AB_DIRECT=1: runs written as they lie (a build that has it; an older one ignores the argument)
    process.env.AB_DIRECT
      ? (lines, cursor, written) => {
          out += lines.length + cursor.length
          written()
        }
      : undefined,
  )
  rb.setSparse(true)
  const t0 = process.cpuUsage()
  for (const b of blocks) rb.heads(b)
  const t = process.cpuUsage(t0)
  return (t.user + t.system) / 1e6
}
const res = { A: [], B: [] }
for (let r = 0; r < 8; r++) for (const w of r % 2 ? ['B', 'A'] : ['A', 'B']) res[w].push(run(w))
const perGiB = (xs) => xs.map((x) => +(x / (eventBytes / 2 ** 30)).toFixed(3))
const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
console.log(
  JSON.stringify({
    eventMiB: +(eventBytes / 2 ** 20).toFixed(1),
    batches: batches.length,
    A: perGiB(res.A),
    B: perGiB(res.B),
    medianA: med(perGiB(res.A)),
    medianB: med(perGiB(res.B)),
  }),
)
