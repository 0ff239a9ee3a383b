import { hostname } from 'node:os'
import { UsageError } from '../../core/errors.js'

// Path escapes (Flume's BucketPath): %Y %m %d %H %M %S from the event's time in the local time
// zone (TZ), %s epoch seconds, %t epoch ms, %{name} a header, %[host] this machine, %% a percent.
// A header value is untrusted: it is neutralised so that it can never leave the output root,
// hide a file or reach roll's own state (see safeSegment).

export interface EscapeContext {
  ts: number
  headers?: Record<string, string>
}

type Part = string | ((c: EscapeContext, d: Date) => string)

const pad = (n: number, width = 2): string => String(n).padStart(width, '0')

const timeEscapes: Record<string, (c: EscapeContext, d: Date) => string> = {
  Y: (_c, d) => pad(d.getFullYear(), 4),
  m: (_c, d) => pad(d.getMonth() + 1),
  d: (_c, d) => pad(d.getDate()),
  H: (_c, d) => pad(d.getHours()),
  M: (_c, d) => pad(d.getMinutes()),
  S: (_c, d) => pad(d.getSeconds()),
  s: (c) => String(Math.floor(c.ts / 1000)),
  t: (c) => String(c.ts),
}

// The longest value a header may contribute to one path segment (NAME_MAX is 255 bytes).
const MAX_VALUE = 100

// Make an untrusted value safe as (part of) one path segment: slashes, backslashes, NUL and other
// control characters become "_", a leading dot becomes "_" (no hidden files, no "." or ".."), and
// the value is cut to MAX_VALUE characters.
export const safeSegment = (value: string): string => {
  // eslint-disable-next-line no-control-regex
  let v = value.replace(/[\u0000-\u001f\u007f/\\]/g, '_')
  if (v.startsWith('.')) v = '_' + v.slice(1)
  if (v.length > MAX_VALUE) v = v.slice(0, MAX_VALUE)
  return v
}

export interface Template {
  readonly text: string
  // true when the expansion depends on the event (time or headers)
  readonly dynamic: boolean
  expand(context: EscapeContext): string
}

export const compileTemplate = (text: string, option: string): Template => {
  const parts: Part[] = []
  let literal = ''
  let dynamic = false
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!
    if (ch !== '%') {
      literal += ch
      continue
    }
    const next = text[i + 1]
    if (next === '%') {
      literal += '%'
      i++
      continue
    }
    const close = next === '{' ? '}' : next === '[' ? ']' : undefined
    if (close) {
      const end = text.indexOf(close, i + 2)
      if (end === -1) throw new UsageError(`${option}: unterminated %${next} in '${text}'`)
      const name = text.slice(i + 2, end)
      if (literal) parts.push(literal)
      literal = ''
      if (next === '{') {
        if (!name) throw new UsageError(`${option}: empty header name in '${text}'`)
        parts.push((c) => safeSegment(c.headers?.[name] ?? ''))
        dynamic = true
      } else {
        if (name !== 'host' && name !== 'localhost') throw new UsageError(`${option}: unknown escape %[${name}] in '${text}' (use %[host])`)
        const host = safeSegment(hostname())
        parts.push(host)
      }
      i = end
      continue
    }
    const escape = next === undefined ? undefined : timeEscapes[next]
    if (!escape) throw new UsageError(`${option}: unknown escape %${next ?? ''} in '${text}' (known: %Y %m %d %H %M %S %s %t %{header} %[host] %%)`)
    if (literal) parts.push(literal)
    literal = ''
    parts.push(escape)
    dynamic = true
    i++
  }
  if (literal) parts.push(literal)
  const constant = parts.every((p) => typeof p === 'string') ? parts.join('') : undefined
  return {
    text,
    dynamic,
    expand(context) {
      if (constant !== undefined) return constant
      const date = new Date(context.ts)
      let out = ''
      for (const p of parts) out += typeof p === 'string' ? p : p(context, date)
      return out
    },
  }
}
