// Sizes and durations as every tsf option takes them (K/M/G, 250ms/30s), for the bench's own flags.
const sizeUnits = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }

export const parseSize = (text) => {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(String(text).trim())
  if (!m) throw new Error(`expected a size such as 200M or 1G, got '${text}'`)
  return Math.round(Number(m[1]) * sizeUnits[m[2].toLowerCase()])
}

const durationUnits = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }

export const parseDuration = (text) => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(String(text).trim())
  if (!m) throw new Error(`expected a duration such as 250ms or 10s, got '${text}'`)
  return Math.round(Number(m[1]) * durationUnits[m[2] ?? 's'])
}

// 268435456 -> "256M", for file names and headings
export const sizeLabel = (n) => {
  for (const [u, v] of [
    ['G', 1024 ** 3],
    ['M', 1024 ** 2],
    ['K', 1024],
  ])
    if (n % v === 0) return `${n / v}${u}`
  return String(n)
}

export const MiB = 1024 * 1024
export const GiB = 1024 * 1024 * 1024
