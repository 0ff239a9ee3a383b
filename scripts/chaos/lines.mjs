// The numbered lines the chaos writer appends. Line n is a pure function of (run, n), so the
// verifier knows every expected line from the count alone. Some lines are hard on purpose:
// multi-byte UTF-8, JSON escapes and control bytes, NUL, invalid UTF-8, and long lines.

const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'

const padding = (n) => {
  let s = ''
  const len = (n * 7919) % 120
  for (let i = 0; i < len; i++) s += letters[(n * 31 + i * 17) % letters.length]
  return s
}

// The bytes of line n, without its newline.
export const lineBytes = (run, n) => {
  const head = `chaos ${run} ${String(n).padStart(9, '0')} `
  if (n % 97 === 0)
    return Buffer.concat([Buffer.from(head + 'invalid utf-8 '), Buffer.from([0xff, 0xfe, 0xc3]), Buffer.from(` ${padding(n)}`)])
  if (n % 211 === 0) return Buffer.from(`${head}nul \u0000 byte ${padding(n)}`)
  if (n % 13 === 0) return Buffer.from(`${head}héllo wörld ✓ 🚀 ${padding(n)}`)
  if (n % 29 === 0) return Buffer.from(`${head}quote " backslash \\ tab \t cr \r ctrl \u0001 ${padding(n)}`)
  if (n % 499 === 0) return Buffer.from(`${head}long ${'x'.repeat(20_000 + (n % 1000))}`)
  return Buffer.from(head + padding(n))
}

// A line as a comparable key: its bytes as latin1 (one char per byte, exact for any bytes).
export const lineKey = (run, n) => lineBytes(run, n).toString('latin1')

// The line number in a key written by this run, or 0 for a line that is not ours.
export const lineNumber = (run, key) => {
  const prefix = `chaos ${run} `
  if (!key.startsWith(prefix)) return 0
  const n = Number(key.slice(prefix.length, prefix.length + 9))
  return Number.isInteger(n) && n > 0 && key === lineKey(run, n) ? n : 0
}
