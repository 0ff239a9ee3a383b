import { UsageError } from '../../core/errors.js'
import { enableLinearFallback, userRegex } from '../../core/regex.js'

// The event time taken from the line itself (--ts-regex / --ts-format). A line whose time
// cannot be read keeps the read time: a bad timestamp never drops a line.

export type TimestampParser = (line: string) => number | undefined

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']

// Named formats, for the common cases.
const NAMED: Record<string, string> = {
  clf: '%d/%b/%Y:%H:%M:%S %z', // Apache/nginx access logs: 10/Oct/2000:13:55:36 -0700
  syslog: '%b %e %H:%M:%S', // Nov 22 00:21:16 (this year, local time)
}

interface Part {
  re: string
  set: (d: DateParts, text: string) => void
}

interface DateParts {
  Y: number
  m: number
  d: number
  H: number
  M: number
  S: number
  ms: number
  // minutes east of UTC; undefined means local time
  tz?: number
  epoch?: number
}

const num =
  (key: keyof DateParts) =>
  (d: DateParts, text: string): void => {
    ;(d[key] as number) = Number(text)
  }

const TOKENS: Record<string, Part> = {
  Y: { re: '(\\d{4})', set: num('Y') },
  m: {
    re: '(\\d{1,2})',
    set: (d, t) => {
      d.m = Number(t) - 1
    },
  },
  d: { re: '(\\d{1,2})', set: num('d') },
  e: { re: '\\s?(\\d{1,2})', set: num('d') },
  H: { re: '(\\d{1,2})', set: num('H') },
  M: { re: '(\\d{2})', set: num('M') },
  S: { re: '(\\d{2})', set: num('S') },
  f: {
    re: '(\\d{1,9})',
    set: (d, t) => {
      d.ms = Math.floor(Number(`0.${t}`) * 1000)
    },
  },
  b: {
    re: '([A-Za-z]{3})[a-z]*',
    set: (d, t) => {
      d.m = MONTHS.indexOf(t.toLowerCase())
    },
  },
  z: {
    re: '(Z|[+-]\\d{2}:?\\d{2})',
    set: (d, t) => {
      if (t === 'Z') d.tz = 0
      else {
        const digits = t.replace(':', '')
        const minutes = Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5))
        d.tz = digits[0] === '-' ? -minutes : minutes
      }
    },
  },
  s: {
    re: '(\\d{9,10})',
    set: (d, t) => {
      d.epoch = Number(t) * 1000
    },
  },
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

// Compiles a strftime-like format (%Y %m %d %e %H %M %S %f %b %z %s %%) to a parser of text.
export const compileFormat = (
  format: string,
  option = '--ts-format',
): { re: RegExp; parse: (m: RegExpExecArray, from: number) => number | undefined; groups: number } => {
  const fmt = NAMED[format] ?? format
  const parts: Part[] = []
  let re = ''
  for (let i = 0; i < fmt.length; i++) {
    const c = fmt[i]!
    if (c !== '%') {
      re += c === ' ' ? '\\s+' : escape(c)
      continue
    }
    const t = fmt[++i]
    if (t === '%') re += '%'
    else if (t && TOKENS[t]) {
      parts.push(TOKENS[t]!)
      re += TOKENS[t]!.re
    } else
      throw new UsageError(
        `${option}: unknown conversion '%${t ?? ''}' in '${format}' (known: %Y %m %d %e %H %M %S %f %b %z %s, or clf, syslog, iso8601, epoch, epoch-ms)`,
      )
  }
  if (parts.length === 0) throw new UsageError(`${option}: '${format}' has no conversions such as %Y or %H`)
  const parse = (m: RegExpExecArray, from: number): number | undefined => {
    const now = new Date()
    const d: DateParts = { Y: now.getFullYear(), m: 0, d: 1, H: 0, M: 0, S: 0, ms: 0 }
    parts.forEach((p, k) => p.set(d, m[from + k]!))
    if (d.epoch !== undefined) return d.epoch
    if (d.m < 0) return undefined
    const t =
      d.tz === undefined
        ? new Date(d.Y, d.m, d.d, d.H, d.M, d.S, d.ms).getTime()
        : Date.UTC(d.Y, d.m, d.d, d.H, d.M, d.S, d.ms) - d.tz * 60_000
    return Number.isFinite(t) ? t : undefined
  }
  enableLinearFallback()
  return { re: new RegExp(re), parse, groups: parts.length }
}

const ISO = /(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)/

const parseLoose = (text: string): number | undefined => {
  if (/^\d{13}$/.test(text)) return Number(text)
  if (/^\d{9,10}(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000)
  const t = Date.parse(text.replace(' ', 'T').replace(',', '.'))
  return Number.isFinite(t) ? t : undefined
}

// --ts-regex alone: its first capture group (or the group named ts) is read as ISO 8601 or epoch.
// --ts-format alone: the format is searched for in the line. Both: the format reads the group.
export const makeTimestampParser = (regex?: string, format?: string): TimestampParser | undefined => {
  if (!regex && !format) return undefined
  const outer = regex ? userRegex('--ts-regex', regex) : undefined
  const pick = (line: string): string | undefined => {
    if (!outer) return line
    const m = outer.exec(line)
    if (!m) return undefined
    return m.groups?.ts ?? m[1] ?? m[0]
  }
  if (!format || format === 'iso8601') {
    return (line) => {
      const text = pick(line)
      if (text === undefined) return undefined
      if (outer) return parseLoose(text)
      const m = ISO.exec(text)
      return m ? parseLoose(m[1]!) : undefined
    }
  }
  if (format === 'epoch' || format === 'epoch-ms') {
    const re = format === 'epoch' ? /(\d{9,10}(?:\.\d+)?)/ : /(\d{13})/
    return (line) => {
      const text = pick(line)
      const m = text === undefined ? null : re.exec(text)
      return m ? parseLoose(m[1]!) : undefined
    }
  }
  const compiled = compileFormat(format)
  return (line) => {
    const text = pick(line)
    if (text === undefined) return undefined
    const m = compiled.re.exec(text)
    return m ? compiled.parse(m, 1) : undefined
  }
}
