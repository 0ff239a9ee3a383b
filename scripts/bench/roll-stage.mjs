// roll's staging (read each event's fields, dedupe, unescape the body into its bucket's chunk) on
// its own, in one process, for A/B comparisons of builds that a loaded machine's pipelines cannot
// tell apart. Two steps:
//   tsf tail --state S big.log | node scripts/bench/roll-stage.mjs capture batches.bin
//     saves roll's input batches (lines and spans, as roll's reader hands them) from a real pipe
//   node scripts/bench/roll-stage.mjs run batches.bin ROUNDS DIST [DIST...]
//     stages every batch with each build's dist/ in turn, ROUNDS times; prints the CPU ms of
//     stage() per pass (min, median) and an md5 of the bytes staged (the builds must agree)
import { createHash } from 'node:crypto'
import { openSync, readFileSync, writeSync } from 'node:fs'
import { resolve } from 'node:path'

const [mode, file, ...rest] = process.argv.slice(2)
if (mode === 'capture') {
  const { EventInput, releaseEvents } = await import(resolve('dist/core/link/reader.js'))
  const fd = openSync(file, 'w')
  const input = new EventInput({ lines: 'spans' })
  let n = 0
  for await (const batch of input.batches()) {
    const head = Buffer.alloc(12)
    head.writeUInt32LE(batch.lines.length, 0)
    head.writeUInt32LE(batch.count, 4)
    head.writeUInt32LE(batch.bytes, 8)
    writeSync(fd, head)
    writeSync(fd, batch.lines)
    writeSync(fd, Buffer.from(batch.spans.buffer, batch.spans.byteOffset, 8 * batch.count))
    releaseEvents(batch)
    input.done(batch)
    n++
  }
  console.error(`${n} batches`)
  process.exit(0)
}
if (mode !== 'run') {
  console.error('usage: roll-stage.mjs capture FILE < tsf events | roll-stage.mjs run FILE ROUNDS DIST...')
  process.exit(2)
}
const data = readFileSync(file)
const batches = []
for (let at = 0; at < data.length; ) {
  const len = data.readUInt32LE(at)
  const count = data.readUInt32LE(at + 4)
  const bytes = data.readUInt32LE(at + 8)
  at += 12
  const lines = Buffer.from(data.subarray(at, at + len))
  at += len
  const spans = new Int32Array(2 * count)
  Buffer.from(spans.buffer).set(data.subarray(at, at + 8 * count))
  at += 8 * count
  batches.push({ lines, spans, count, bytes })
}
const rounds = Number(rest[0])
const builds = []
for (const dist of rest.slice(1)) {
  const load = (path) => import(resolve(dist, path))
  const [{ Stager }, { Staged }, { compileLayout }, { RangeSet }, { unescaper }] = await Promise.all([
    load('sinks/roll/stage.js'),
    load('sinks/roll/staged.js'),
    load('sinks/roll/layout.js'),
    load('sinks/roll/ranges.js'),
    load('core/json-unescape-wasm.js'),
  ])
  // a build whose reader frames batches into the unescaper's memory (engine.ts: linesBlocks) gets
  // each batch there, as roll's reader would put it (the copy is not timed: the reader makes it)
  const wasm = unescaper()
  const block = wasm && typeof wasm.use === 'function' ? wasm.chunk(1024 * 1024) : undefined
  builds.push({ dist, Stager, Staged, compileLayout, RangeSet, block, times: [], out: '' })
}
// one pass: every batch staged; every 1 MiB of input the group "commits" (its seqs become the
// committed ones, its chunks are hashed and reused), as roll's group commit does
const pass = (b) => {
  const layout = b.compileLayout({ dir: 'nowhere', prefix: 'events', suffix: '.log' })
  const state = { streams: new Map() }
  const stager = new b.Stager({ format: 'body', layout, useLocalTime: false }, state, { add() {}, gauge() {} })
  const hash = createHash('md5')
  let staged = new b.Staged()
  let id = 0
  let cpu = 0
  const commit = () => {
    for (const [src, set] of staged.seqs) {
      let stream = state.streams.get(src)
      if (!stream) state.streams.set(src, (stream = { ranges: new b.RangeSet() }))
      stream.ranges.addAll(set)
    }
    for (const entry of staged.buckets.values()) for (const part of entry.data.slice(0, entry.data.length)) hash.update(part)
    staged.release()
    staged = new b.Staged()
  }
  for (const { lines: read, spans, count, bytes } of batches) {
    let lines = read
    if (b.block && read.length <= b.block.length) {
      b.block.set(read)
      lines = b.block.subarray(0, read.length)
    }
    const t0 = process.cpuUsage()
    stager.stage(staged, { id: id++, lines, spans, count, bytes, positions: new Map(), heads: [] }, undefined)
    const t = process.cpuUsage(t0)
    cpu += t.user + t.system
    if (staged.bytes > 1 << 20) commit()
  }
  commit()
  return [cpu / 1000, hash.digest('hex')]
}
for (let i = 0; i < rounds; i++)
  for (const b of builds) {
    const [ms, out] = pass(b)
    b.times.push(ms)
    b.out = out
  }
for (const b of builds) {
  const sorted = b.times.sort((x, y) => x - y)
  console.log(`${b.dist}: stage() ${sorted[0].toFixed(0)} ms min, ${sorted[sorted.length >> 1].toFixed(0)} ms median; md5 ${b.out}`)
}
