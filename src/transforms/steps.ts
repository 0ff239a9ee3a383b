import { hostname, networkInterfaces } from 'node:os'
import { UsageError } from '../core/errors.js'
import { userRegex } from '../core/regex.js'
import { quote } from '../core/json-string.js'
import { makeTimestampParser } from '../sources/tail/timestamp.js'
import type { EventView } from './event-view.js'

// Flume's interceptors as filter steps. A step looks at one event and changes it, or returns
// false to drop it. Steps run in the order their options were given, like an interceptor chain.
export interface Step {
  // the option as the user wrote it, for messages
  readonly name: string
  apply(event: EventView): boolean
  // events a step could not apply to (a timestamp not found): counted, kept unchanged
  missed?: number
}

const regex = userRegex

// A pattern that is a plain literal without quotes or backslashes matches the body's JSON text
// exactly as it matches the body when the only escapes are \" (EventView.bodyForLiteral): no decoding.
const plainLiteral = /^[A-Za-z0-9 _\-:\/=,;@#%&'<>!~`]+$/

const bodyMatcher = (option: string, pattern: string): ((e: EventView) => boolean) => {
  const re = regex(option, pattern)
  if (plainLiteral.test(pattern)) return (e) => re.test(e.bodyForLiteral())
  return (e) => re.test(e.body())
}

// regex_filter: keep (or drop) the events whose body matches.
export const keepBody = (pattern: string): Step => {
  const matches = bodyMatcher('--keep', pattern)
  return { name: `--keep ${pattern}`, apply: matches }
}

export const dropBody = (pattern: string): Step => {
  const matches = bodyMatcher('--drop', pattern)
  return { name: `--drop ${pattern}`, apply: (e) => !matches(e) }
}

// A condition on a field: FIELD=VALUE (exactly that value) or FIELD~REGEX. FIELD is body, host,
// src or any top-level field, or headers.NAME. A missing field matches neither.
export type Condition = (event: EventView) => boolean

export const parseCondition = (option: string, text: string): Condition => {
  const m = /^([A-Za-z0-9_.@$-]+)([=~])(.*)$/s.exec(text)
  if (!m || m[1] === 'headers.') {
    throw new UsageError(`${option}: expected FIELD=VALUE or FIELD~REGEX (FIELD: body, host, src, headers.NAME ...), got '${text}'`)
  }
  const field = m[1]!
  if (m[2] === '=') {
    const value = m[3]!
    return (e) => e.field(field) === value
  }
  const re = regex(option, m[3]!)
  return (e) => {
    const value = e.field(field)
    return value !== undefined && re.test(value)
  }
}

// The multiplexing selector's building block: keep only the events of one route.
export const keepIf = (text: string): Step => {
  const cond = parseCondition('--keep-if', text)
  return { name: `--keep-if ${text}`, apply: cond }
}

export const dropIf = (text: string): Step => {
  const cond = parseCondition('--drop-if', text)
  return { name: `--drop-if ${text}`, apply: (e) => !cond(e) }
}

// regex_extractor: the named groups of a match on the body become headers.
export const extract = (pattern: string): Step => {
  const re = regex('--extract', pattern)
  const names = [...pattern.matchAll(/\(\?<([A-Za-z_][A-Za-z0-9_]*)>/g)].map((m) => m[1]!)
  if (!names.length) throw new UsageError(`--extract: name the groups that become headers, as in '(?<level>[A-Z]+)', got '${pattern}'`)
  return {
    name: `--extract ${pattern}`,
    apply: (e) => {
      const m = re.exec(e.body())
      if (m?.groups) for (const name of names) if (m.groups[name] !== undefined) e.setHeader(name, m.groups[name]!)
      return true
    },
  }
}

const keyValue = (option: string, text: string): [string, string] => {
  const at = text.indexOf('=')
  if (at <= 0) throw new UsageError(`${option}: expected KEY=VALUE, got '${text}'`)
  return [text.slice(0, at), text.slice(at + 1)]
}

// static: -H keeps a value the event already has (Flume's preserveExisting = true); --set replaces it.
export const staticHeader = (text: string): Step => {
  const [k, v] = keyValue('--header', text)
  return { name: `-H ${text}`, apply: (e) => (e.setHeader(k, v, true), true) }
}

export const setHeader = (text: string): Step => {
  const [k, v] = keyValue('--set', text)
  return { name: `--set ${text}`, apply: (e) => (e.setHeader(k, v), true) }
}

// remove_header: one name, or every name matching /REGEX/.
export const removeHeader = (text: string): Step => {
  if (text.length > 2 && text.startsWith('/') && text.endsWith('/')) {
    const re = regex('--remove-header', text.slice(1, -1))
    return {
      name: `--remove-header ${text}`,
      apply: (e) => {
        for (const name of Object.keys(e.headers())) if (re.test(name)) e.removeHeader(name)
        return true
      },
    }
  }
  if (!text) throw new UsageError('--remove-header: expected NAME or /REGEX/')
  return { name: `--remove-header ${text}`, apply: (e) => (e.removeHeader(text), true) }
}

export const renameHeader = (text: string): Step => {
  const [from, to] = keyValue('--rename-header', text)
  if (!to) throw new UsageError(`--rename-header: expected OLD=NEW, got '${text}'`)
  return {
    name: `--rename-header ${text}`,
    apply: (e) => {
      const value = e.headers()[from]
      if (value !== undefined && Object.hasOwn(e.headers(), from)) {
        e.removeHeader(from)
        e.setHeader(to, value)
      }
      return true
    },
  }
}

// host: the event's host field, set to a name (default this machine's) or its IP address.
export const setHost = (name: string): Step => {
  const json = quote(name)
  return { name: `--host ${name}`, apply: (e) => (e.set('host', json), true) }
}

export const thisHost = (): string => hostname()

export const thisHostIp = (): string => {
  const all = Object.values(networkInterfaces()).flat()
  const pick =
    all.find((a) => a && !a.internal && a.family === 'IPv4') ?? all.find((a) => a && !a.internal) ?? all.find((a) => a?.family === 'IPv4')
  return pick?.address ?? '127.0.0.1'
}

// timestamp: ts from now, from a field (epoch s or ms, ISO 8601), or from the body with
// --ts-regex / --ts-format (the same rules as tsf tail's). An event where none is found keeps its ts.
export const tsNow = (): Step => ({ name: '--ts-now', apply: (e) => (e.set('ts', String(Date.now())), true) })

export const tsFromField = (field: string): Step => {
  const parse = makeTimestampParser('^(.*)$')!
  const step: Step = {
    name: `--ts-field ${field}`,
    missed: 0,
    apply: (e) => {
      const value = e.field(field)
      const ts = value === undefined ? undefined : parse(value)
      if (ts === undefined) step.missed!++
      else e.set('ts', String(ts))
      return true
    },
  }
  return step
}

export const tsFromBody = (pattern: string | undefined, format: string | undefined): Step => {
  // an empty --ts-regex '' (an unset shell variable) names no timestamp: refused, not a crash per event
  if (!pattern && !format) throw new UsageError(`${pattern === undefined ? '--ts-format' : '--ts-regex'}: expected a non-empty value`)
  const parse = makeTimestampParser(pattern, format)!
  const step: Step = {
    name: pattern ? `--ts-regex ${pattern}` : `--ts-format ${format}`,
    missed: 0,
    apply: (e) => {
      const ts = parse(e.body())
      if (ts === undefined) step.missed!++
      else e.set('ts', String(ts))
      return true
    },
  }
  return step
}
