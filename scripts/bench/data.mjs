// The bench's inputs, generated once per size into bench-data/ and reused: the access log, its
// facts (lines, bytes, sha256) and the same lines as tsf events (for the channel alone).
import { createHash } from 'node:crypto'
import { closeSync, createReadStream, existsSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { generateAccessLog } from './gen-access-log.mjs'
import { ROOT } from './tsf.mjs'
import { sizeLabel } from './units.mjs'

// sha256 and newline count of files read one after the other, as one stream
export const digestFiles = async (paths) => {
  const hash = createHash('sha256')
  let lines = 0
  let bytes = 0
  for (const p of paths) {
    for await (const chunk of createReadStream(p, { highWaterMark: 1 << 20 })) {
      hash.update(chunk)
      bytes += chunk.length
      let at = -1
      while ((at = chunk.indexOf(10, at + 1)) !== -1) lines++
    }
  }
  return { sha256: hash.digest('hex'), lines, bytes }
}

export const ensureAccessLog = async (dataDir, size, say) => {
  mkdirSync(dataDir, { recursive: true })
  const path = join(dataDir, `access-${sizeLabel(size)}.log`)
  const metaPath = path + '.meta.json'
  if (existsSync(path) && existsSync(metaPath)) return { path, ...JSON.parse(readFileSync(metaPath, 'utf8')) }
  say(`generating ${path} (${sizeLabel(size)}, seed 42) ...`)
  generateAccessLog(path, size)
  const facts = await digestFiles([path])
  writeFileSync(metaPath, JSON.stringify(facts) + '\n')
  return { path, ...facts }
}

// The access log as tsf events, as `tsf tail` would write them (without the cursor), with a fixed
// ts so the file is the same on every run.
export const ensureEvents = async (dataDir, log, say) => {
  const path = log.path.replace(/\.log$/, '.ndjson')
  const metaPath = path + '.meta.json'
  if (existsSync(path) && existsSync(metaPath)) return { path, ...JSON.parse(readFileSync(metaPath, 'utf8')) }
  say(`generating ${path} from ${log.path} ...`)
  const { sourceEventHead, encodeEnvelope } = await import(pathToFileURL(join(ROOT, 'dist/core/event.js')).href)
  const envelope = encodeEnvelope({ host: 'bench', headers: { file: log.path } })
  const fd = openSync(path + '.tmp', 'w')
  let seq = 0
  let pos = 0
  let rest = Buffer.alloc(0)
  let out = []
  let outLen = 0
  for await (const chunk of createReadStream(log.path, { highWaterMark: 1 << 20 })) {
    const buf = rest.length ? Buffer.concat([rest, chunk]) : chunk
    let start = 0
    let nl
    while ((nl = buf.indexOf(10, start)) !== -1) {
      seq++
      pos += nl + 1 - start
      const head = sourceEventHead(buf.subarray(start, nl), { ts: 1767225600000 + seq, src: 'bench.events', seq, pos }, envelope)
      out.push(head, '}\n')
      outLen += head.length
      start = nl + 1
    }
    rest = Buffer.from(buf.subarray(start))
    if (outLen > 1 << 22) {
      writeSync(fd, out.join(''))
      out = []
      outLen = 0
    }
  }
  if (out.length) writeSync(fd, out.join(''))
  closeSync(fd)
  renameSync(path + '.tmp', path)
  const facts = await digestFiles([path])
  writeFileSync(metaPath, JSON.stringify(facts) + '\n')
  return { path, ...facts }
}
