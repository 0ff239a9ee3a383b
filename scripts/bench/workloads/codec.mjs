// In-process microbenchmark of the event codec every stage runs per line: building an event head
// from raw line bytes (sources), finding and cutting the cursor (forwarding stages) and the full
// parse (sinks that need fields). Best of 3 passes over the first 64 MiB of the access log.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { ROOT } from '../tsf.mjs'
import { MiB } from '../units.mjs'

const SAMPLE = 64 * MiB

const splitLines = (buf) => {
  const lines = []
  let start = 0
  let nl
  while ((nl = buf.indexOf(10, start)) !== -1) {
    lines.push(buf.subarray(start, nl))
    start = nl + 1
  }
  return lines
}

// runs fn over all items, 3 passes; the fastest pass, in seconds of CPU (user+sys) and wall
const bestOf3 = (items, fn) => {
  let best
  for (let pass = 0; pass < 3; pass++) {
    const cpu0 = process.cpuUsage()
    const t0 = process.hrtime.bigint()
    let sink = 0
    for (let i = 0; i < items.length; i++) sink += fn(items[i], i)
    const wall = Number(process.hrtime.bigint() - t0) / 1e9
    const c = process.cpuUsage(cpu0)
    const cpu = (c.user + c.system) / 1e6
    if (sink < 0) throw new Error('unreachable') // keeps the work observable
    if (!best || wall < best.wall) best = { wall, cpu }
  }
  return best
}

export default {
  name: 'codec',
  title: 'codec: event heads in-process (encode, cursor cut, full parse)',
  needs: () => undefined,
  async run(ctx) {
    const { sourceEventHead, encodeEnvelope, parseEventLine } = await import(pathToFileURL(join(ROOT, 'dist/core/event.js')).href)
    const { classifyLine } = await import(pathToFileURL(join(ROOT, 'dist/core/link/cursor.js')).href)
    const fd = readFileSync(ctx.log.path)
    const sample = fd.subarray(0, Math.min(fd.length, SAMPLE))
    const lines = splitLines(sample).map((l) => Buffer.from(l))
    const bytes = lines.reduce((n, l) => n + l.length + 1, 0)
    const envelope = encodeEnvelope({ host: 'bench', headers: { file: ctx.log.path } })
    const encodeOne = (line, i) =>
      sourceEventHead(line, { ts: 1767225600000 + i, src: 'AbCdEfGh.IjKlMnOpQrSt', seq: i + 1, pos: i * 200 }, envelope)
    // timed without keeping the heads: a source writes them out and drops them, and keeping
    // 300k strings alive would time the garbage collector instead
    const encode = bestOf3(lines, (line, i) => encodeOne(line, i).length)
    const heads = lines.map(encodeOne)
    // what a reader sees on its pipe: the head, the writer's cursor, the closing brace
    const wire = heads.map((h, i) => Buffer.from(`${h},"_ack":"zV6vzSfHzt6JFvyU.RWDGm06pPO-_Thww.${i + 1}"}`))
    const cut = bestOf3(wire, (line) => {
      const c = classifyLine(line)
      if (!c.cursor) throw new Error('classifyLine lost the cursor: the codec is wrong')
      return c.head.length
    })
    const parse = bestOf3(heads, (head) => {
      const e = parseEventLine(head + '}')
      return e.body.length
    })
    // a cheap check that the codec round-trips: every body parsed back equals its original line
    let wrong = 0
    for (let i = 0; i < lines.length; i += 997) if (parseEventLine(heads[i] + '}').body !== lines[i].toString('utf8')) wrong++
    const row = (label, r) => ({
      label,
      wall: r.wall,
      cpu: r.cpu,
      eventsPerSec: lines.length / r.wall,
      mibPerSec: bytes / MiB / r.wall,
      nsPerEvent: (r.cpu * 1e9) / lines.length,
    })
    return {
      bytes,
      events: lines.length,
      check: wrong
        ? `WRONG: ${wrong} sampled bodies differ after a round trip`
        : `ok (round trip of ${Math.ceil(lines.length / 997)} sampled lines)`,
      wrong: wrong > 0,
      micro: [
        row('encode: sourceEventHead', encode),
        row('decode: classifyLine (cut cursor)', cut),
        row('decode: parseEventLine (full parse)', parse),
      ],
    }
  },
}
