import { hostname } from 'node:os'
import { UsageError } from '../../core/errors.js'

// Path escapes (Flume's BucketPath): %Y %m %d %H %M %S from the event's time in the local time
// zone (TZ), %s epoch seconds, %t epoch ms, %{name} a header, %{host} the header "host" or else
// the event's host field (Flume's host interceptor puts the host in a header; tsf events carry it
// as a field), %[host] this machine, %% a percent. A value is untrusted: it is neutralised so that
// it can never leave the output root, hide a file or reach roll's own state (see safeSegment).

export interface EscapeContext {
  ts: number
  // a header's value as text (the roller reads it from the event bytes, see event-fields.ts)
  header?: (name: string) => string | undefined
  // or headers as an object (values of any type)
  headers?: Record<string, unknown>
  // the event's host field
  host?: string
}

// Any JSON value as path text: strings as they are, anything else as its JSON text, so that a
// number or an object in a header is written, never a crash.
const neutral = (value: unknown): string => {
  if (value === undefined || value === null) return value === null ? 'null' : ''
  if (typeof value === 'string') return value
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return '_' // too deep or cyclic: a placeholder, still a valid name
  }
}

const headerOf = (c: EscapeContext, name: string): string => {
  const value = c.header ? c.header(name) : neutral(c.headers?.[name])
  if (name === 'host' && (value === undefined || value === '')) return c.host ?? ''
  return value ?? ''
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

// The most bytes a header may contribute to one path segment (NAME_MAX is 255 bytes).
const MAX_VALUE = 100

// Make an untrusted value safe as (part of) one path segment: slashes, backslashes, NUL and other
// control characters and lone surrogates become "_", a leading dot becomes "_" (no hidden files, no
// "." or ".."), and the value is cut to MAX_VALUE bytes of UTF-8, on a character boundary.
export const safeSegment = (value: string): string => {
  // eslint-disable-next-line no-control-regex
  let v = value.replace(/[\u0000-\u001f\u007f/\\]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '_')
  if (v.startsWith('.')) v = '_' + v.slice(1)
  return cutToBytes(v, MAX_VALUE)
}

// The longest start of s that is at most max bytes of UTF-8 (never half a character).
export const cutToBytes = (s: string, max: number): string => {
  if (s.length * 3 <= max || Buffer.byteLength(s) <= max) return s
  let bytes = 0
  let i = 0
  while (i < s.length) {
    const c = s.codePointAt(i)!
    const n = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4
    if (bytes + n > max) break
    bytes += n
    i += c >= 0x10000 ? 2 : 1
  }
  return s.slice(0, i)
}

export interface Template {
  readonly text: string
  // true when the expansion depends on the event (time or headers)
  readonly dynamic: boolean
  // true when it depends on more than the time (headers, host)
  readonly usesEvent: boolean
  // the expansion is the same for every ts in one step of this many ms (local-time escapes change
  // on whole seconds at most; %t every ms)
  readonly timeStep: number
  expand(context: EscapeContext): string
}

// `missing`: what a header the event lacks (or has empty) becomes ('' in directories, where the
// empty segment then disappears; a placeholder in file names, see layout.ts)
export const compileTemplate = (text: string, option: string, missing = ''): Template => {
  const parts: Part[] = []
  let literal = ''
  let dynamic = false
  let usesEvent = false
  let usesMs = false
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
        parts.push((c) => safeSegment(headerOf(c, name) || missing))
        dynamic = true
        usesEvent = true
      } else {
        if (name !== 'host' && name !== 'localhost') throw new UsageError(`${option}: unknown escape %[${name}] in '${text}' (use %[host])`)
        const host = safeSegment(hostname())
        parts.push(host)
      }
      i = end
      continue
    }
    const escape = next === undefined ? undefined : timeEscapes[next]
    if (!escape)
      throw new UsageError(`${option}: unknown escape %${next ?? ''} in '${text}' (known: %Y %m %d %H %M %S %s %t %{header} %[host] %%)`)
    if (literal) parts.push(literal)
    literal = ''
    parts.push(escape)
    dynamic = true
    if (next === 't') usesMs = true
    i++
  }
  if (literal) parts.push(literal)
  const constant = parts.every((p) => typeof p === 'string') ? parts.join('') : undefined
  return {
    text,
    dynamic,
    usesEvent,
    timeStep: usesMs ? 1 : 1000,
    expand(context) {
      if (constant !== undefined) return constant
      const date = new Date(context.ts)
      let out = ''
      for (const p of parts) out += typeof p === 'string' ? p : p(context, date)
      return out
    },
  }
}
