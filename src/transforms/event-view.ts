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
const BODY_PREFIX_BYTES = Buffer.from(BODY_PREFIX)

export class EventView {
  private textCache?: string
  private bodyText?: string
  private bodyRawText?: string
  private spans?: Span[]
  private headerMap?: Record<string, string>
  private headersChanged = false
  // top-level fields replaced or added, as JSON value text
  private replaced?: Map<string, string>

  constructor(readonly head: EventHead) {}

  // The whole head as text, decoded only when a step needs more than the body.
  get text(): string {
    return (this.textCache ??= typeof this.head === 'string' ? this.head : this.head.toString('utf8'))
  }

  // The JSON text inside the body's quotes when the head starts {"body":" (every tsf event):
  // found in the bytes, so the rest of the line is never decoded for a body-only step.
  private bodyRaw(): string | undefined {
    if (this.bodyRawText !== undefined) return this.bodyRawText
    const head = this.head
    if (typeof head === 'string' || this.textCache !== undefined) {
      const t = this.text
      if (!t.startsWith(BODY_PREFIX)) return undefined
      return (this.bodyRawText = t.slice(BODY_PREFIX.length, stringEnd(t, BODY_PREFIX.length - 1)))
    }
    if (head.length < BODY_PREFIX.length || head.compare(BODY_PREFIX_BYTES, 0, BODY_PREFIX.length, 0, BODY_PREFIX.length) !== 0) return undefined
    // UTF-8 continuation bytes are >= 0x80: a 0x22 or 0x5c byte is always that ASCII character
    let at = head.indexOf(0x22, BODY_PREFIX.length)
    while (at !== -1) {
      let slashes = 0
      while (head[at - 1 - slashes] === 0x5c) slashes++
      if (slashes % 2 === 0) break
      at = head.indexOf(0x22, at + 1)
    }
    return (this.bodyRawText = head.toString('utf8', BODY_PREFIX.length, at === -1 ? head.length : at))
  }

  get changed(): boolean {
    return this.headersChanged || this.replaced !== undefined
  }

  // The body as a string (its readable rendering when the bytes were not UTF-8).
  body(): string {
    if (this.bodyText !== undefined) return this.bodyText
    const raw = this.bodyRaw()
    if (raw !== undefined) return (this.bodyText = unescapeBody(raw))
    const value = this.raw('body')
    return (this.bodyText = value !== undefined && value.charCodeAt(0) === 0x22 ? unquote(value) : '')
  }

  // For a search of a literal without quotes or backslashes: the body's JSON text itself when its
  // only escapes are \" (access logs), where such a literal matches exactly as in the body.
  bodyForLiteral(): string {
    const raw = this.bodyText === undefined ? this.bodyRaw() : undefined
    return raw !== undefined && onlyQuoteEscapes(raw) ? raw : this.body()
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
    return this.splice(replaced) ?? this.rebuild(replaced)
  }

  // The common case: values replaced in place and new fields appended, the rest of the text
  // copied in slices. undefined when a field must go (empty headers, duplicate keys).
  private splice(replaced: Map<string, string>): string | undefined {
    const t = this.text
    let out = ''
    let from = 0
    const seen = new Set<string>()
    for (const span of this.scan()) {
      if (seen.has(span.key)) return undefined
      seen.add(span.key)
      const value = replaced.get(span.key)
      if (value === undefined) continue
      if (value === '{}' && span.key === 'headers') return undefined
      out += t.slice(from, span.start) + value
      from = span.end
    }
    out += t.slice(from)
    for (const [key, value] of replaced) {
      if (seen.has(key)) continue
      if (key === 'headers' && value === '{}') continue
      out += `${out.length > 1 ? ',' : ''}${quote(key)}:${value}`
    }
    return out
  }

  private rebuild(replaced: Map<string, string>): string {
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

// The text of a JSON string's inside. Log lines mostly have no escapes, or only \" (access
// logs): those take an indexOf loop and one replace instead of a JSON.parse.
const unescapeBody = (raw: string): string => {
  if (raw.indexOf('\\') === -1) return raw
  return onlyQuoteEscapes(raw) ? raw.replaceAll('\\"', '"') : unquote(`"${raw}"`)
}

const onlyQuoteEscapes = (raw: string): boolean => {
  for (let at = raw.indexOf('\\'); at !== -1; at = raw.indexOf('\\', at + 2)) if (raw.charCodeAt(at + 1) !== 0x22) return false
  return true
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
