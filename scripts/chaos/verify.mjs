// The verdict of a chaos run: compares what the writer wrote (lines 1..written of lines.mjs)
// with what each collector's roll published.
import { createHash } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { lineKey, lineNumber } from './lines.mjs'

// Every file under a roll root, split into published files and those in progress (.tmp, or hidden
// .inprogress from earlier versions of roll); the roll state (.tsf-roll) and anything else starting with a dot (the disk filler) are not output.
export const rollFiles = (root) => {
  const published = []
  const inProgress = []
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name)
      if (entry.isDirectory()) {
        if (entry.name !== '.tsf-roll' && !entry.name.startsWith('.chaos')) walk(path)
      } else if (entry.name.endsWith('.tmp') || entry.name.endsWith('.inprogress')) inProgress.push(path)
      else if (!entry.name.startsWith('.')) published.push(path)
    }
  }
  if (existsSync(root)) walk(root)
  return { published: published.sort(), inProgress: inProgress.sort() }
}

// The lines of files as latin1 keys (exact bytes). A file's last line without a newline counts too.
export const fileLines = (paths) => {
  const keys = []
  for (const path of paths) {
    const text = readFileSync(path).toString('latin1')
    const parts = text.split('\n')
    if (parts[parts.length - 1] === '') parts.pop()
    for (const p of parts) keys.push(p)
  }
  return keys
}

const sha256 = (keys) => {
  const h = createHash('sha256')
  for (const k of [...keys].sort()) h.update(Buffer.from(k + '\n', 'latin1'))
  return h.digest('hex')
}

// Consecutive line numbers in a set, counted as runs: copies made by a failover come in batches.
const runsOf = (numbers) => {
  const sorted = [...numbers].sort((a, b) => a - b)
  let runs = 0
  for (let i = 0; i < sorted.length; i++) if (i === 0 || sorted[i] !== sorted[i - 1] + 1) runs++
  return runs
}

// One collector's output: counts, lines seen twice, lines that are not the writer's.
export const collectorReport = (run, root) => {
  const files = rollFiles(root)
  const keys = fileLines(files.published)
  const counts = new Map()
  const unexpected = []
  for (const k of keys) {
    const n = lineNumber(run, k)
    if (n === 0) {
      if (unexpected.length < 5) unexpected.push(k.slice(0, 120))
      continue
    }
    counts.set(n, (counts.get(n) ?? 0) + 1)
  }
  const twice = [...counts].filter(([, c]) => c > 1).map(([n]) => n)
  return {
    root,
    files: files.published.length,
    inProgress: files.inProgress,
    lines: keys.length,
    distinct: counts.size,
    twice: twice.length,
    twiceSample: twice.slice(0, 10),
    unexpected: keys.length - [...counts.values()].reduce((a, b) => a + b, 0),
    unexpectedSample: unexpected,
    numbers: new Set(counts.keys()),
    sha256: sha256([...counts.keys()].map((n) => lineKey(run, n))),
  }
}

// The whole verdict. `switches` is how often ship sent somewhere else than before or than its
// first choice (its "sending to" lines: a switch, or a restarted ship starting on the secondary
// because the primary is down): copies on both collectors can only come from such a change.
export const verify = ({ run, written, roots, switches }) => {
  const collectors = Object.fromEntries(Object.entries(roots).map(([name, root]) => [name, collectorReport(run, root)]))
  const union = new Set()
  for (const c of Object.values(collectors)) for (const n of c.numbers) union.add(n)
  const missing = []
  for (let n = 1; n <= written; n++) if (!union.has(n)) missing.push(n)
  const beyond = [...union].filter((n) => n > written).length
  const names = Object.keys(collectors)
  const both = new Set()
  for (let i = 0; i < names.length; i++)
    for (let j = i + 1; j < names.length; j++)
      for (const n of collectors[names[i]].numbers) if (collectors[names[j]].numbers.has(n)) both.add(n)
  const expectedSha = sha256(Array.from({ length: written }, (_, i) => lineKey(run, i + 1)))
  const unionSha = sha256([...union].map((n) => lineKey(run, n)))
  const failures = []
  if (written === 0) failures.push('the writer wrote nothing')
  if (missing.length) failures.push(`${missing.length} lines missing from every collector (first: ${missing.slice(0, 10).join(', ')})`)
  if (beyond) failures.push(`${beyond} lines numbered past what the writer wrote`)
  for (const [name, c] of Object.entries(collectors)) {
    if (c.twice) failures.push(`${name}: ${c.twice} lines written twice (first: ${c.twiceSample.join(', ')})`)
    if (c.unexpected)
      failures.push(`${name}: ${c.unexpected} lines that the writer never wrote (e.g. ${JSON.stringify(c.unexpectedSample[0])})`)
    if (c.inProgress.length) failures.push(`${name}: ${c.inProgress.length} files still in progress after a graceful stop`)
  }
  if (both.size && !switches) failures.push(`${both.size} lines on both collectors, but ship never switched destination`)
  for (const c of Object.values(collectors)) delete c.numbers
  return {
    pass: failures.length === 0,
    failures,
    written,
    expectedSha256: expectedSha,
    union: { distinct: union.size, missing: missing.length, sha256: unionSha, complete: unionSha === expectedSha },
    collectors,
    acrossCollectors: { lines: both.size, runs: runsOf(both), switches },
  }
}

// How many of lines 1..written are in any file of the roots, in progress included: the drain
// check while the chains still run (the verdict itself reads only published files).
export const seenCount = (run, roots, written) => {
  const seen = new Set()
  for (const root of roots) {
    const files = rollFiles(root)
    for (const k of fileLines([...files.published, ...files.inProgress])) {
      const n = lineNumber(run, k)
      if (n > 0 && n <= written) seen.add(n)
    }
  }
  return seen.size
}
