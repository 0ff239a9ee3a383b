// Collects the failures out of tap's TAP stream as it passes by, so that `npm test` can repeat them
// after the coverage table: a CI log that keeps only its last lines still names the failing test.
//
// TAP nests subtests by indentation: "# Subtest: name" opens one, "not ok N - name" ends one that
// failed, and a YAML block ("---" … "...") under a "not ok" says why.

const ANSI = /\x1b\[[0-9;]*m/g
const DIAG_LINES = 60

export function tapFailures() {
  const open = [] // [{ indent, name }] of the subtests we are inside
  const failures = [] // { path: string[], line: string, diag: string[] }
  let diag = null // the failure whose YAML block is being read, with the block's indentation
  let partial = ''

  function line(raw) {
    const text = raw.replace(ANSI, '').replace(/\r$/, '')
    const indent = text.length - text.trimStart().length
    const body = text.trim()
    if (diag) {
      if (body === '...' && indent === diag.indent) diag = null
      else if (body !== '---' && diag.failure.diag.length < DIAG_LINES) diag.failure.diag.push(text.slice(diag.indent))
      return
    }
    const sub = /^# Subtest: (.*)$/.exec(body)
    if (sub) {
      while (open.length && open[open.length - 1].indent >= indent) open.pop()
      open.push({ indent, name: sub[1] })
      return
    }
    if (/^not ok \d+/.test(body) && !/# (TODO|SKIP)\b/i.test(body)) {
      const path = open.filter((s) => s.indent < indent).map((s) => s.name)
      const failure = { path, line: body, diag: [] }
      failures.push(failure)
      diag = { failure, indent: indent + 2, pending: true }
      return
    }
  }

  return {
    /** Feeds a chunk of tap's stdout. */
    write(chunk) {
      const lines = (partial + chunk.toString('utf8')).split('\n')
      partial = lines.pop()
      for (const l of lines) {
        // a YAML block must start on the very next line; anything else ends the wait for it
        if (diag?.pending) {
          diag.pending = false
          if (l.replace(ANSI, '').trim() !== '---') diag = null
        }
        line(l)
      }
    },
    /** The failures seen, innermost (the test that failed) first within each file. */
    report() {
      // a parent subtest fails because a child did: keep only the failures nothing else explains
      const leaves = failures.filter(
        (f) => !failures.some((g) => g !== f && g.path.length > f.path.length && startsWith(g.path, f, f.line)),
      )
      return leaves.map((f) => [`${[...f.path, f.line].join(' > ')}`, ...f.diag.map((d) => `    ${d}`)].join('\n'))
    },
  }
}

// g sits inside the subtest that f's "not ok" line ends (f's path plus f's own name)
function startsWith(gPath, f, fLine) {
  const name = fLine.replace(/^not ok \d+ - /, '').replace(/ # time=.*$/, '')
  if (gPath.length <= f.path.length) return false
  for (let i = 0; i < f.path.length; i++) if (gPath[i] !== f.path[i]) return false
  return gPath[f.path.length] === name
}
