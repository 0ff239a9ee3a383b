// The naive Node baseline tsf tail must beat (issue 3): read the file, split lines, and write
// JSON.stringify({ ts, host, body }) per line. Prints its line count on stderr for the check.
// usage: node scripts/bench/naive-baseline.mjs FILE > /dev/null
import { createReadStream } from 'node:fs'
import { hostname } from 'node:os'

const host = hostname()
let rest = ''
let lines = 0
const write = (s) => (process.stdout.write(s) ? undefined : new Promise((r) => process.stdout.once('drain', r)))

for await (const chunk of createReadStream(process.argv[2], { encoding: 'utf8', highWaterMark: 1 << 16 })) {
  const parts = (rest + chunk).split('\n')
  rest = parts.pop()
  let out = ''
  for (const body of parts) out += JSON.stringify({ ts: Date.now(), host, body }) + '\n'
  lines += parts.length
  await write(out)
}
if (rest) {
  lines++
  await write(JSON.stringify({ ts: Date.now(), host, body: rest }) + '\n')
}
process.stderr.write(`lines ${lines}\n`)
