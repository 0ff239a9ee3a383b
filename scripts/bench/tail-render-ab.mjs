// tail's render alone, for A/B of two builds in one process: the log's lines split into LineBlocks
// (as tail's fast path makes them from each 256 KiB read) and rendered by RenderBuffer.heads() with
// sparse cursors into chunks that are taken and given back (no I/O). Builds A and B alternate for
// 8 rounds; prints CPU-s per GiB of log for each round, and the medians.
// usage: node scripts/bench/tail-render-ab.mjs ROOT_A ROOT_B LOG [MiB of LOG, default 64]
//   ROOT_A, ROOT_B: directories holding dist/ (copies of two builds)
import { readFileSync } from 'node:fs'
const [A, B, log, mib = '64'] = process.argv.slice(2)
const load = async (root) => ({
  RenderBuffer: (await import(`${root}/dist/core/link/render.js`)).RenderBuffer,
  LineBlock: (await import(`${root}/dist/sources/file/line-block.js`)).LineBlock,
})
const impl = { A: await load(A), B: await load(B) }
const bytes = readFileSync(log).subarray(0, Number(mib) * 2 ** 20)
const middle = Buffer.from(
  '","ts":1796262910114,"host":"vm","headers":{"file":"/var/log/access.log"},"src":"traab_6MZBAS.dCvQbQLMW6jc","seq":',
)
// the reads: 256 KiB regions of whole lines, each a buffer of its own (as tail's read buffer)
const regions = []
for (let at = 0; at < bytes.length; ) {
  let end = bytes.lastIndexOf(10, Math.min(bytes.length, at + 256 * 1024) - 1) + 1
  if (end <= at) break
  regions.push(Buffer.from(bytes.subarray(at, end)))
  at = end
}
const run = (which) => {
  const { RenderBuffer, LineBlock } = impl[which]
  let out = 0
  const rb = new RenderBuffer(',"_ack":"AAAAAAAAAAAAAAAA.BBBBBBBBBBBBBBBB.', true, () => {
    const c = rb.take()
    out += rb.taken
    rb.giveBack(c)
  })
  rb.setSparse(true)
  const t0 = process.cpuUsage()
  let seq = 0
  let pos = 0
  for (const region of regions) {
    for (const block of LineBlock.split(region, 1024, 1 << 20, middle, seq, pos)) {
      rb.heads(block)
      seq += block.length
    }
    pos += region.length
  }
  const t = process.cpuUsage(t0)
  return { cpu: (t.user + t.system) / 1e6, out }
}
const res = { A: [], B: [] }
const outs = { A: 0, B: 0 }
for (let r = 0; r < 8; r++)
  for (const w of r % 2 ? ['B', 'A'] : ['A', 'B']) {
    const { cpu, out } = run(w)
    res[w].push(cpu)
    outs[w] = out
  }
const gib = bytes.length / 2 ** 30
const perGiB = (xs) => xs.map((x) => +(x / gib).toFixed(3))
const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1]
console.log(
  JSON.stringify({
    logMiB: +(bytes.length / 2 ** 20).toFixed(1),
    bytesOut: outs,
    A: perGiB(res.A),
    B: perGiB(res.B),
    medianA: +(med(res.A) / gib).toFixed(3),
    medianB: +(med(res.B) / gib).toFixed(3),
  }),
)
