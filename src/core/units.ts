import { UsageError } from './errors.js'

const durationUnits: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

// "250ms", "30s", "10m", "1h", "7d"; a bare number means seconds, as in timeout(1).
export const parseDuration = (text: string, option = 'duration'): number => {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(String(text).trim())
  if (!m) throw new UsageError(`${option}: expected a duration such as 250ms, 30s, 10m or 1h, got '${text}'`)
  return Math.round(Number(m[1]) * durationUnits[m[2] ?? 's']!)
}

const sizeUnits: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }

// "512", "64K", "128M", "1G" (powers of 1024; an optional trailing B or iB is accepted).
export const parseSize = (text: string, option = 'size'): number => {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i.exec(String(text).trim())
  if (!m) throw new UsageError(`${option}: expected a size such as 512, 64K, 128M or 1G, got '${text}'`)
  return Math.round(Number(m[1]) * sizeUnits[m[2]!.toLowerCase()]!)
}

export const parseCount = (text: string, option = 'count'): number => {
  const m = /^\d+$/.exec(String(text).trim())
  if (!m) throw new UsageError(`${option}: expected a whole number, got '${text}'`)
  return Number(text)
}

// host:port, with [v6]:port and a bare :port meaning all interfaces.
export const parseHostPort = (text: string, option = 'address', defaultHost = '127.0.0.1'): { host: string; port: number } => {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(String(text).trim())
  const port = m ? Number(m[3]) : NaN
  if (!m || port > 65535) throw new UsageError(`${option}: expected HOST:PORT, got '${text}'`)
  return { host: m[1] ?? (m[2] || defaultHost), port }
}

export const formatBytes = (n: number): string => {
  if (n < 1024) return `${n} B`
  const units = ['KiB', 'MiB', 'GiB', 'TiB']
  let v = n / 1024
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return `${v.toFixed(1)} ${units[i]}`
}
