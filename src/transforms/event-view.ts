import type { EventHead } from '../core/event.js'
import {
  FIELDS_BAD,
  FIELDS_END,
  isSpace,
  newFieldSpan,
  nextField,
  readString,
  stringEnd,
  viewOf,
  type ByteView,
} from '../core/json-scan.js'
import { encodeHeaders, quote } from '../core/json-string.js'

// One event head (its JSON text without the closing brace, docs/architecture.md) seen as its
// top-level fields, for the filter's steps. Nothing is parsed until a step asks: the body of a
// tsf event is found by core's byte scanner (src/core/json-scan.ts) from its fixed place
// ({"body":"...), the other fields with one scan of their spans, headers with a JSON.parse of the
// headers object alone. An event no step changed is forwarded as the very bytes it came in.

interface Span {
  key: string
  start: number // value text: [start, end)
  end: number
}

const BODY_PREFIX = '{"body":"'
const BODY_PREFIX_BYTES = Buffer.from(BODY_PREFIX)
// A piece of a line cut into pieces ends with this field: sources put it last, and a filter's
// splice keeps it last, so it is found from the end of the head without a search.
const CONT_FIELD = ',"cont":true'
const CONT_FIELD_BYTES = Buffer.from(CONT_FIELD)

export interface Changes {
  headers?: Record<string, string>
  replaced?: Map<string, string>
}

export class EventView {
  // the view of the head bytes' whole ArrayBuffer, and where they are in it: [base, stop)
  private readonly view: ByteView
  private readonly base: number
  private readonly stop: number
  private bodyText?: string
  private bodyRawText?: string
  private spans?: Span[]
  private headerMap?: Record<string, string>
  private headersChanged = false
  // top-level fields replaced or added, as JSON value text
  private replaced?: Map<string, string>

  constructor(readonly head: EventHead) {
    const bytes = typeof head === 'string' ? Buffer.from(head) : head
    this.view = viewOf(bytes)
    this.base = bytes.byteOffset
    this.stop = this.base + bytes.length
  }

  // The head's text between two offsets of the view.
  private slice(start: number, end: number): string {
    return this.view.buf.toString('utf8', start, end)
  }

  // The JSON text inside the body's quotes when the head starts {"body":" (every tsf event):
  // found in the bytes, so the rest of the line is never decoded for a body-only step.
  private bodyRaw(): string | undefined {
    if (this.bodyRawText !== undefined) return this.bodyRawText
    // compared in JS: a native call per event costs more than the nine bytes
    const u8 = this.view.u8
    if (this.stop - this.base < BODY_PREFIX.length) return undefined
    for (let i = 0; i < BODY_PREFIX.length; i++) if (u8[this.base + i] !== BODY_PREFIX_BYTES[i]) return undefined
    const open = this.base + BODY_PREFIX.length - 1
    const close = stringEnd(this.view, open, this.stop)
    // an unterminated body (a damaged line): the rest of the line
    return (this.bodyRawText = this.slice(open + 1, close === -1 ? this.stop : close))
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
    return span ? this.slice(span.start, span.end) : undefined
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

  // What the steps changed, to be repeated on the other pieces of a line cut into pieces.
  changes(): Changes {
    return { headers: this.headersChanged ? { ...this.headerMap! } : undefined, replaced: this.replaced && new Map(this.replaced) }
  }

  repeat(changes: Changes): void {
    if (changes.headers) {
      this.headerMap = { ...changes.headers }
      this.headersChanged = true
    }
    if (changes.replaced) this.replaced = new Map(changes.replaced)
  }

  // A piece of a line cut into pieces ("cont":true on all but the last): its last field.
  isContinued(): boolean {
    return this.contLast() && this.raw('cont') === 'true'
  }

  // The head ends with ,"cont":true (a JS compare of 12 bytes: a native call per event costs more).
  private contLast(): boolean {
    const u8 = this.view.u8
    const at = this.stop - CONT_FIELD_BYTES.length
    if (at < this.base) return false
    for (let i = 0; i < CONT_FIELD_BYTES.length; i++) if (u8[at + i] !== CONT_FIELD_BYTES[i]) return false
    return true
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
    let out = ''
    let from = this.base
    const seen = new Set<string>()
    for (const span of this.scan()) {
      if (seen.has(span.key)) return undefined
      seen.add(span.key)
      const value = replaced.get(span.key)
      if (value === undefined) continue
      if (value === '{}' && span.key === 'headers') return undefined
      out += this.slice(from, span.start) + value
      from = span.end
    }
    const contLast = this.contLast()
    out += this.slice(from, contLast ? this.stop - CONT_FIELD.length : this.stop)
    for (const [key, value] of replaced) {
      if (seen.has(key)) continue
      if (key === 'headers' && value === '{}') continue
      out += `${out.length > 1 ? ',' : ''}${quote(key)}:${value}`
    }
    return contLast ? out + CONT_FIELD : out
  }

  private rebuild(replaced: Map<string, string>): string {
    let out = '{'
    let cont: string | undefined
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
      // cont goes last (see CONT_FIELD)
      if (span.key === 'cont' && value === undefined) {
        cont = this.slice(span.start, span.end)
        continue
      }
      out += `${out.length > 1 ? ',' : ''}${quote(span.key)}:${value ?? this.slice(span.start, span.end)}`
    }
    for (const [key, value] of replaced) {
      if (key === 'headers' && value === '{}') continue
      out += `${out.length > 1 ? ',' : ''}${quote(key)}:${value}`
    }
    return cont ? `${out}${out.length > 1 ? ',' : ''}"cont":${cont}` : out
  }

  private scan(): Span[] {
    return (this.spans ??= scanFields(this.view, this.base, this.stop))
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

// The spans of the top-level fields of an event head ({"k":v,... without the closing brace), as
// far as it is JSON: a damaged line yields the fields before the damage.
const scanFields = (v: ByteView, start: number, stop: number): Span[] => {
  const spans: Span[] = []
  const f = newFieldSpan()
  let i = start
  while (i < stop && isSpace(v.u8[i])) i++
  if (i >= stop || v.u8[i] !== 0x7b) return spans
  i++
  for (let first = true; i >= 0; first = false) {
    i = nextField(v, i, stop, f, first)
    if (i === FIELDS_BAD || i === FIELDS_END) break
    const key = readString(v, f.keyStart - 1, f.keyEnd) ?? v.buf.toString('utf8', f.keyStart, f.keyEnd)
    spans.push({ key, start: f.start, end: f.end })
  }
  return spans
}
