// CPU and peak RSS of the network stages: `tsf tail FILE | tsf ship` → `tsf collect > /dev/null`,
// each process measured from inside (rusage-preload.cjs), no wrappers on the pipes.
// usage: node scripts/bench/net-chain.mjs FILE [--token] [--agents] [--gzip] [--prof DIR]
//   --token   a shared token (frame MACs on)     --agents  per-agent tokens (MACs + src binding)
//   --gzip    ship --compress gzip               --prof    node --cpu-prof into DIR
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { fileURLToPath } from 'node:url'
import { startBareCollect } from './bare-collect.mjs'

const root = fileURLToPath(new URL('../../', import.meta.url))
const [file, ...flags] = process.argv.slice(2)
if (!file) {
  console.error('usage: node scripts/bench/net-chain.mjs FILE [--token] [--agents] [--gzip] [--prof DIR]')
  process.exit(2)
}
const has = (f) => flags.includes(f)
const prof = flags.includes('--prof') ? flags[flags.indexOf('--prof') + 1] : undefined
const dir = mkdtempSync(`${tmpdir()}/tsf-net-chain-`)
writeFileSync(`${dir}/token`, 'bench-secret\n')
writeFileSync(`${dir}/agents`, 'bench:bench-secret\n')
const env = { ...process.env, TSF_RUSAGE_DIR: dir, NODE_OPTIONS: `--require ${root}scripts/bench/rusage-preload.cjs` }
const tsf = `node ${prof ? `--cpu-prof --cpu-prof-dir=${prof} ` : ''}${root}bin/tsf.js`
const auth = has('--agents')
  ? [`--agent-tokens ${dir}/agents`, `--agent bench --token-file ${dir}/token`]
  : has('--token')
    ? [`--token-file ${dir}/token`, `--token-file ${dir}/token`]
    : ['', '']

const { child: collect, port } = await startBareCollect(tsf, auth[0], env)
const started = Date.now()
const agent = spawn(
  'sh',
  [
    '-c',
    `${tsf} tail --state ${dir}/tail-state ${file} | ${tsf} ship 127.0.0.1:${port} ${auth[1]} ${has('--gzip') ? '--compress gzip' : ''}`,
  ],
  { env, stdio: ['ignore', 'inherit', 'inherit'] },
)
const code = await new Promise((resolve) => agent.on('exit', resolve))
const wall = (Date.now() - started) / 1000
collect.kill('SIGTERM')
await new Promise((resolve) => collect.on('exit', resolve))
const gib = statSync(file).size / 2 ** 30
const rows = readdirSync(dir)
  .filter((f) => f.endsWith('.json'))
  .map((f) => JSON.parse(readFileSync(`${dir}/${f}`, 'utf8')))
console.log(
  `${file}: ${(gib * 1024).toFixed(0)} MiB in ${wall.toFixed(1)} s, agent exit ${code}${flags.length ? `, ${flags.join(' ')}` : ''}`,
)
for (const r of rows)
  console.log(
    `  ${r.role.padEnd(8)} ${r.cpu.toFixed(2).padStart(6)} CPU-s  ${(r.cpu / gib).toFixed(2).padStart(6)} CPU-s/GiB  peak RSS ${r.maxRssMiB.toFixed(0)} MiB`,
  )
