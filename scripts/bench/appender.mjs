// Appends ~200-byte lines to a file at a steady rate, one write(2) per line as a logging app does.
// Lines "warm <n>" first (not measured), then "lat <CLOCK_MONOTONIC ns> <n> ..." (measured by
// sink-reader.mjs). usage: node appender.mjs FILE RATE WARMUP_MS MEASURE_MS
import { closeSync, openSync, writeSync } from 'node:fs'

const [file, rate = '5000', warmupMs = '2000', measureMs = '10000'] = process.argv.slice(2)
const perSec = Number(rate)
const fd = openSync(file, 'a')
const pad =
  ' GET /api/v1/orders/details?id=4711 HTTP/1.1 200 1234 "https://www.example.com/" "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120"'
const t0 = process.hrtime.bigint()
const end = Number(warmupMs) + Number(measureMs)
let written = 0
let measured = 0

const tick = () => {
  const elapsedMs = Number(process.hrtime.bigint() - t0) / 1e6
  const due = Math.min(Math.floor((elapsedMs * perSec) / 1000), Math.floor((end * perSec) / 1000))
  while (written < due) {
    written++
    if (elapsedMs < Number(warmupMs)) {
      writeSync(fd, `warm ${written}${pad}\n`)
    } else {
      measured++
      writeSync(fd, `lat ${process.hrtime.bigint()} ${written}${pad}\n`)
    }
  }
  if (elapsedMs < end) setTimeout(tick, 1)
  else {
    closeSync(fd)
    process.stdout.write(`${written} ${measured}\n`)
  }
}
tick()
