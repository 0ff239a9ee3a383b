#!/usr/bin/env node
// The application under observation: appends numbered lines (lines.mjs) to a log file at a steady
// rate, keeping the file open like a real program. SIGHUP reopens the path (what an application
// does after logrotate renamed its file); SIGTERM stops, writes the count to --count-file, exits 0.
//
//   node writer.mjs --file app.log --rate 500 --run RUNID --count-file written
import { closeSync, fsyncSync, openSync, writeFileSync, writeSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { lineBytes } from './lines.mjs'

const { values } = parseArgs({
  options: { file: { type: 'string' }, rate: { type: 'string' }, run: { type: 'string' }, 'count-file': { type: 'string' } },
})
const { file, run } = values
const rate = Number(values.rate)
if (!file || !run || !values['count-file'] || !(rate > 0)) {
  process.stderr.write('usage: writer.mjs --file PATH --rate LINES_PER_S --run ID --count-file PATH\n')
  process.exit(2)
}

let fd = openSync(file, 'a')
let written = 0
const started = Date.now()

const tick = () => {
  const due = Math.floor(((Date.now() - started) / 1000) * rate)
  if (due <= written) return
  const parts = []
  for (let n = written + 1; n <= due; n++) parts.push(lineBytes(run, n), Buffer.from('\n'))
  writeSync(fd, Buffer.concat(parts))
  written = due
}
const timer = setInterval(tick, 20)

process.on('SIGHUP', () => {
  closeSync(fd)
  fd = openSync(file, 'a')
})
process.on('SIGTERM', () => {
  clearInterval(timer)
  closeSync(fd)
  writeFileSync(values['count-file'], `${written}\n`)
  const cfd = openSync(values['count-file'], 'r')
  fsyncSync(cfd)
  closeSync(cfd)
  process.stdout.write(`${written}\n`)
  process.exit(0)
})
process.stderr.write(`writer: appending to ${file} at ${rate} lines/s\n`)
