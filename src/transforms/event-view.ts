import type { EventHead } from '../core/event.js'
import { encodeHeaders, quote } from '../core/json-string.js'

// One event head (its JSON text without the closing brace, docs/architecture.md) seen as its
// top-level fields, for the filter's steps. Nothing is parsed until a step asks: the body of a
// tsf event is found with one indexOf loop from its fixed place ({"body":"...), the other fields
// with one scan of their spans, headers with a JSON.parse of the headers object alone. An event
// no step changed is forwarded as the very bytes it came in.

interface Span {
  key: string
  start: number // value text: [start, end)
  end: number
}

const BODY_PREFIX = '{"body":"'

export class EventView {
  readonly text: string
  private bodyText?: string
  private spans?: Span[]
  private headerMap?: Record<string, string>
  private headersChanged = false
  // top-level fields replaced or added, as JSON value text
  private replaced?: Map<string, string>

  constructor(readonly head: EventHead) {
    this.text = typeof head === 'string' ? head : head.toString('utf8')
  }

  get changed(): boolean {
    return this.headersChanged || this.replaced !== undefined
  }

  // The body as a string (its readable rendering when the bytes were not UTF-8).
  body(): string {
    if (this.bodyText !== undefined) return this.bodyText
    const t = this.text
    if (t.startsWith(BODY_PREFIX)) {
      const end = stringEnd(t, BODY_PREFIX.length - 1)
      const raw = t.slice(BODY_PREFIX.length, end)
      return (this.bodyText = raw.includes('\\') ? unquote(`"${raw}"`) : raw)
    }
    const value = this.raw('body')
    return (this.bodyText = value !== undefined && value.charCodeAt(0) === 0x22 ? unquote(value) : '')
  }

  // A field as text: body, any top-level field (host, src, ts ...), or headers.NAME.
  field(name: string): string | undefined {
    if (name === 'body') return this.body()
    if (name.startsWith('headers.')) return this.headers()[name.slice(8)]
    const value = this.raw(name)
    if (value === undefined) return undefined
    return value.charCodeAt(0) === 0x22 ? unquote(value) : value
  }

  // The JSON text of a top-level value, as it is now.
  raw(key: string): string | undefined {
    const replaced = this.replaced?.get(key)
    if (replaced !== undefined) return replaced
    // the last of duplicate keys wins, as in JSON.parse
    const span = this.scan().findLast((s) => s.key === key)
    return span ? this.text.slice(span.start, span.end) : undefined
  }

  headers(): Record<string, string> {
    if (this.headerMap) return this.headerMap
    const raw = this.raw('headers')
    let map: Record<string, string> = {}
    if (raw !== undefined && raw.charCodeAt(0) === 0x7b) {
      try {
        map = JSON.parse(raw) as Record<string, string>
      } catch {
        map = {}
      }
    }
    return (this.headerMap = map)
  }

  setHeader(name: string, value: string, keepExisting = false): void {
    const headers = this.headers()
    if (keepExisting && Object.hasOwn(headers, name)) return
    if (headers[name] === value && Object.hasOwn(headers, name)) return
    headers[name] = value
    this.headersChanged = true
  }

  removeHeader(name: string): void {
    const headers = this.headers()
    if (!Object.hasOwn(headers, name)) return
    delete headers[name]
    this.headersChanged = true
  }

  // Sets a top-level field to a JSON value text (host, ts).
  set(key: string, json: string): void {
    ;(this.replaced ??= new Map()).set(key, json)
  }

  // The head to forward: the original bytes when nothing changed.
  render(): EventHead {
    if (!this.changed) return this.head
    const replaced = new Map(this.replaced ?? [])
    if (this.headersChanged) replaced.set('headers', encodeHeaders(this.headerMap!))
    let out = '{'
    const done = new Set<string>()
    for (const span of this.scan()) {
      // a replaced field goes where it first was; its duplicates (valid JSON, odd) go away
      if (done.has(span.key)) continue
      const value = replaced.get(span.key)
      if (value !== undefined) {
        replaced.delete(span.key)
        done.add(span.key)
      }
      if (span.key === 'headers' && value === '{}') continue
      out += `${out.length > 1 ? ',' : ''}${quote(span.key)}:${value ?? this.text.slice(span.start, span.end)}`
    }
    for (const [key, value] of replaced) {
      if (key === 'headers' && value === '{}') continue
      out += `${out.length > 1 ? ',' : ''}${quote(key)}:${value}`
    }
    return out
  }

  private scan(): Span[] {
    return (this.spans ??= scanFields(this.text))
  }
}

// A JSON string literal's value; a damaged one (a line that only looks like a tsf event) is
// taken as the text between its quotes: a filter never throws on its input.
const unquote = (literal: string): string => {
  try {
    return String(JSON.parse(literal))
  } catch {
    return literal.slice(1, -1)
  }
}

// The index of the quote that closes the JSON string opening at `open`.
const stringEnd = (t: string, open: number): number => {
  let at = t.indexOf('"', open + 1)
  while (at !== -1) {
    let slashes = 0
    while (t.charCodeAt(at - 1 - slashes) === 0x5c) slashes++
    if (slashes % 2 === 0) return at
    at = t.indexOf('"', at + 1)
  }
  return t.length
}

const isSpace = (c: number): boolean => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09

// The spans of the top-level fields of an event head ({"k":v,... without the closing brace).
const scanFields = (t: string): Span[] => {
  const spans: Span[] = []
  const n = t.length
  let i = 1
  for (;;) {
    while (i < n && (isSpace(t.charCodeAt(i)) || t.charCodeAt(i) === 0x2c)) i++
    if (i >= n || t.charCodeAt(i) !== 0x22) return spans
    const keyEnd = stringEnd(t, i)
    const keyText = t.slice(i + 1, keyEnd)
    const key = keyText.includes('\\') ? unquote(`"${keyText}"`) : keyText
    i = keyEnd + 1
    while (i < n && (isSpace(t.charCodeAt(i)) || t.charCodeAt(i) === 0x3a)) i++
    const start = i
    i = valueEnd(t, i)
    let end = i
    while (end > start && isSpace(t.charCodeAt(end - 1))) end--
    spans.push({ key, start, end })
  }
}

// The end of the JSON value starting at i (exclusive).
const valueEnd = (t: string, i: number): number => {
  const n = t.length
  const c = t.charCodeAt(i)
  if (c === 0x22) return stringEnd(t, i) + 1
  if (c === 0x7b || c === 0x5b) {
    let depth = 0
    for (; i < n; i++) {
      const d = t.charCodeAt(i)
      if (d === 0x22) i = stringEnd(t, i)
      else if (d === 0x7b || d === 0x5b) depth++
      else if (d === 0x7d || d === 0x5d) {
        if (--depth === 0) return i + 1
      }
    }
    return n
  }
  while (i < n && t.charCodeAt(i) !== 0x2c && t.charCodeAt(i) !== 0x7d) i++
  return i
}
