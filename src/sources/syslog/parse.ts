// Syslog message parsing: RFC 5424 and RFC 3164 (BSD), as real senders emit them.
//
// One pass over the bytes, no regular expressions, no backtracking: every field is found by a
// forward scan, so the cost is linear in the header length and a hostile message cannot blow it
// up. The body stays bytes (a view into `msg`, never a copy), so invalid UTF-8 survives byte for
// byte. See docs/syslog.md for the accepted formats and the headers produced.

export interface SyslogRecord {
  // event time in epoch ms: the message's own timestamp when it has one we can read, else receivedAt
  ts: number
  // the MSG part (after the header and, for RFC 3164, after `tag[pid]: `); the whole message when invalid
  body: Buffer
  // Flume's names where Flume has them: Facility, Severity, host, flume.syslog.status
  // (Invalid|Incomplete, only when not clean); then appname, procid, msgid, sd, sd.<id>.<name> and
  // syslog.format (rfc5424|rfc3164), which Flume does not produce
  headers: Record<string, string>
}

export interface ParseOptions {
  // when the message was received (epoch ms): the fallback ts, and the reference for the RFC 3164 year
  receivedAt: number
  // the year for RFC 3164 timestamps (which carry none); when absent, the local year of receivedAt,
  // minus one when that would put the message more than a day after receivedAt
  defaultYear?: number
}

export const SYSLOG_STATUS = 'flume.syslog.status'
export const SYSLOG_FORMAT = 'syslog.format'

const SP = 0x20
const LF = 0x0a
const CR = 0x0d
const LT = 0x3c
const GT = 0x3e
const DASH = 0x2d
const COLON = 0x3a
const LBRACKET = 0x5b
const RBRACKET = 0x5d
const QUOTE = 0x22
const BACKSLASH = 0x5c
const EQUALS = 0x3d
const DOT = 0x2e
const PLUS = 0x2b
const DAY_MS = 86_400_000

// Longest hostname / tag token we look at in an RFC 3164 header; anything longer is body text.
const MAX_HOST = 255
const MAX_TAG = 128

const NUMBERS: string[] = Array.from({ length: 24 }, (_, n) => String(n))
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39

// The first HEAD bytes of the message being parsed, decoded once as latin1: header fields are cut
// out of it with String#slice, which is several times cheaper than one Buffer decode per field.
const HEAD = 1024
let head = ''

// Header text: ASCII (the common case, and all RFC 5424 allows) from `head`, anything else as UTF-8.
const text = (buf: Buffer, a: number, b: number): string => {
  for (let i = a; i < b; i++) if (buf[i]! >= 0x80) return buf.toString('utf8', a, b)
  return b <= head.length ? head.slice(a, b) : buf.toString('latin1', a, b)
}

// Two digits at i as a number, or -1.
const two = (buf: Buffer, i: number): number => {
  const a = buf[i]! - 0x30
  const b = buf[i + 1]! - 0x30
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1
}

// Reads `.fraction` at i (when present) into fracMs and returns the index after it.
let fracMs = 0
const fraction = (buf: Buffer, i: number, end: number): number => {
  fracMs = 0
  if (i >= end || buf[i] !== DOT) return i
  i++
  const start = i
  let ms = 0
  while (i < end && isDigit(buf[i]!)) {
    if (i - start < 3) ms = ms * 10 + buf[i]! - 0x30
    i++
  }
  if (i === start) return -1
  for (let n = i - start; n < 3; n++) ms *= 10
  fracMs = ms
  return i
}

// The last timestamp read and its value: a sender's messages mostly share their timestamp with
// the one before (same second, often same ms), and comparing ~30 bytes is cheaper than a parse.
const lastStamp = new Uint8Array(40)
let lastStampLength = 0
let lastStampValue = NaN

// RFC 3339 / ISO 8601 `YYYY-MM-DDTHH:MM:SS[.frac][Z|±HH:MM|±HHMM]` filling exactly [a, b).
// No zone means local time. Returns epoch ms, or NaN.
export const parseRfc3339 = (buf: Buffer, a: number, b: number): number => {
  const n = b - a
  if (n === lastStampLength) {
    let k = 0
    while (k < n && buf[a + k] === lastStamp[k]) k++
    if (k === n) return lastStampValue
  }
  const value = parseStamp(buf, a, b)
  // with its zone only: a local time's value changes with TZ
  const z = buf[b - 1]
  const zoned = z === 0x5a || z === 0x7a || buf[b - 6] === PLUS || buf[b - 6] === DASH || buf[b - 5] === PLUS || buf[b - 5] === DASH
  if (n <= lastStamp.length && n >= 19 && zoned) {
    lastStamp.set(buf.subarray(a, b))
    lastStampLength = n
    lastStampValue = value
  }
  return value
}

const parseStamp = (buf: Buffer, a: number, b: number): number => {
  if (b - a < 19) return NaN
  const y1 = two(buf, a)
  const y2 = two(buf, a + 2)
  if (y1 < 0 || y2 < 0 || buf[a + 4] !== DASH || buf[a + 7] !== DASH || buf[a + 13] !== COLON || buf[a + 16] !== COLON) return NaN
  const t = buf[a + 10]
  if (t !== 0x54 && t !== 0x74) return NaN // 'T' or 't'
  const mo = two(buf, a + 5)
  const d = two(buf, a + 8)
  const h = two(buf, a + 11)
  const mi = two(buf, a + 14)
  const s = two(buf, a + 17)
  if (mo < 1 || mo > 12 || d < 1 || d > DAYS_IN_MONTH[mo - 1]! || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60) return NaN
  const year = y1 * 100 + y2
  if (mo === 2 && d === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0))) return NaN
  let i = fraction(buf, a + 19, b)
  if (i < 0) return NaN
  const ms = fracMs
  if (i === b) {
    const local = new Date(year, mo - 1, d, h, mi, s, ms)
    if (year < 100) local.setFullYear(year)
    return local.getTime()
  }
  let offset = 0
  const z = buf[i]
  if (z === 0x5a || z === 0x7a) {
    // 'Z' or 'z'
    i++
  } else if (z === PLUS || z === DASH) {
    const oh = two(buf, i + 1)
    let om: number
    if (buf[i + 3] === COLON) {
      om = two(buf, i + 4)
      i += 6
    } else {
      om = two(buf, i + 3)
      i += 5
    }
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return NaN
    offset = (z === PLUS ? 1 : -1) * (oh * 60 + om) * 60_000
  } else {
    return NaN
  }
  if (i !== b) return NaN
  // Date.UTC maps years 0-99 to 1900-1999; nobody sends those, but stay exact.
  const utc =
    year >= 100
      ? Date.UTC(year, mo - 1, d, h, mi, s, ms)
      : new Date(0).setUTCFullYear(year, mo - 1, d) + ((h * 60 + mi) * 60 + s) * 1000 + ms
  return utc - offset
}

// Month abbreviation at i (case-insensitive "Jan".."Dec") as 0-11, or -1.
const month = (buf: Buffer, i: number): number => {
  const k = ((buf[i]! | 0x20) << 16) | ((buf[i + 1]! | 0x20) << 8) | (buf[i + 2]! | 0x20)
  switch (k) {
    case 0x6a616e:
      return 0 // jan
    case 0x666562:
      return 1 // feb
    case 0x6d6172:
      return 2 // mar
    case 0x617072:
      return 3 // apr
    case 0x6d6179:
      return 4 // may
    case 0x6a756e:
      return 5 // jun
    case 0x6a756c:
      return 6 // jul
    case 0x617567:
      return 7 // aug
    case 0x736570:
      return 8 // sep
    case 0x6f6374:
      return 9 // oct
    case 0x6e6f76:
      return 10 // nov
    case 0x646563:
      return 11 // dec
    default:
      return -1
  }
}

// Local-time epoch ms for a date without a year, or NaN when the date does not exist.
const yearless = (mo: number, d: number, h: number, mi: number, s: number, ms: number, opts: ParseOptions): number => {
  const explicit = opts.defaultYear !== undefined
  let year = explicit ? opts.defaultYear! : new Date(opts.receivedAt).getFullYear()
  for (let attempt = 0; attempt < 2; attempt++) {
    const date = new Date(year, mo, d, h, mi, s, ms)
    const ts = date.getTime()
    if (date.getDate() === d && date.getMonth() === mo && (explicit || ts <= opts.receivedAt + DAY_MS)) return ts
    if (explicit) return NaN
    year-- // Dec 31 received on Jan 1, or Feb 29 seen from a common year: last year's
  }
  return NaN
}

// BSD timestamp at i: `Mmm dd hh:mm:ss` (dd space- or zero-padded, or one digit with one space),
// optionally `.frac` and/or `Mmm dd yyyy hh:mm:ss` (Cisco). Must be followed by SP or the end.
// Sets bsdEnd to the index after it; returns epoch ms or NaN.
let bsdEnd = 0
const parseBsd = (buf: Buffer, i: number, end: number, opts: ParseOptions): number => {
  if (end - i < 14) return NaN
  const mo = month(buf, i)
  if (mo < 0 || buf[i + 3] !== SP) return NaN
  i += 4
  if (buf[i] === SP) i++
  let d = buf[i]! - 0x30
  if (d < 0 || d > 9) return NaN
  i++
  if (isDigit(buf[i]!)) {
    d = d * 10 + buf[i]! - 0x30
    i++
  }
  if (buf[i] !== SP || d < 1 || d > 31) return NaN
  i++
  let year = -1
  if (end - i >= 13 && buf[i + 4] === SP) {
    const y1 = two(buf, i)
    const y2 = two(buf, i + 2)
    if (y1 < 0 || y2 < 0) return NaN
    year = y1 * 100 + y2
    i += 5
  }
  if (end - i < 8 || buf[i + 2] !== COLON || buf[i + 5] !== COLON) return NaN
  const h = two(buf, i)
  const mi = two(buf, i + 3)
  const s = two(buf, i + 6)
  if (h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60) return NaN
  i = fraction(buf, i + 8, end)
  if (i < 0 || (i < end && buf[i] !== SP)) return NaN
  bsdEnd = i
  if (year >= 0) {
    const date = new Date(year, mo, d, h, mi, s, fracMs)
    return date.getDate() === d ? date.getTime() : NaN
  }
  return yearless(mo, d, h, mi, s, fracMs, opts)
}

// What scanSyslog found in one message, kept in this one object (no object or string per
// message): ranges are [A, B) offsets into the message's buffer, A = -1 when the field is absent.
export const INVALID = 0
export const RFC5424 = 1
export const RFC3164 = 2
export const scanned = {
  format: INVALID,
  pri: 0,
  // epoch ms: the message's timestamp, or receivedAt when it has none we can read
  ts: 0,
  // the timestamp was missing or unreadable (flume.syslog.status: Incomplete)
  incomplete: false,
  // MSG is [body, end): end is the message's end without a trailing LF (CRLF)
  body: 0,
  end: 0,
  hostA: -1,
  hostB: -1,
  appA: -1,
  appB: -1,
  procA: -1,
  procB: -1,
  msgidA: -1,
  msgidB: -1,
  // RFC 5424 STRUCTURED-DATA when not '-'
  sdA: -1,
  sdB: -1,
  // RFC 5424 whose header ran to its end: a nil STRUCTURED-DATA and the SP after it (then the
  // fields up to body depend on the bytes before body alone: heads.ts reuses them)
  closed: false,
}

const NO_FIELDS = (): void => {
  scanned.hostA = scanned.hostB = scanned.appA = scanned.appB = -1
  scanned.procA = scanned.procB = scanned.msgidA = scanned.msgidB = -1
  scanned.sdA = scanned.sdB = -1
  scanned.closed = false
}

// The whole message as the body, with flume.syslog.status Invalid.
const invalid = (start: number, end: number, receivedAt: number): number => {
  NO_FIELDS()
  scanned.format = INVALID
  scanned.ts = receivedAt
  scanned.incomplete = false
  scanned.body = start
  scanned.end = end
  return INVALID
}

// Scans the message msg[start, stop) into `scanned`; returns its format. Nothing past stop is
// read for a decision: the message may be a frame inside a larger read buffer.
export const scanSyslog = (msg: Buffer, start: number, stop: number, opts: ParseOptions): number => {
  // A trailing LF (CRLF) is transport, not message (UDP senders that end datagrams with one).
  let end = stop
  if (end > start && msg[end - 1] === LF) {
    end--
    if (end > start && msg[end - 1] === CR) end--
  }

  // <PRI>: 1-3 digits, 0..191
  if (end - start < 3 || msg[start] !== LT) return invalid(start, end, opts.receivedAt)
  let i = start + 1
  let pri = 0
  while (i < start + 4 && i < end && isDigit(msg[i]!)) pri = pri * 10 + msg[i++]! - 0x30
  if (i === start + 1 || i >= end || msg[i] !== GT || pri > 191) return invalid(start, end, opts.receivedAt)
  i++
  scanned.pri = pri
  scanned.end = end
  NO_FIELDS()
  if (i + 1 < end && msg[i] === 0x31 && msg[i + 1] === SP) return scan5424(msg, start, i + 2, end, opts)
  return scan3164(msg, i, end, opts)
}

const scan5424 = (msg: Buffer, start: number, i: number, end: number, opts: ParseOptions): number => {
  // TIMESTAMP
  let j = i
  while (j < end && msg[j] !== SP) j++
  if (j === end || j === i) return invalid(start, end, opts.receivedAt)
  let ts = j - i === 1 && msg[i] === DASH ? NaN : parseRfc3339(msg, i, j)
  const incomplete = ts !== ts
  if (incomplete) ts = opts.receivedAt
  i = j + 1

  // HOSTNAME APP-NAME PROCID MSGID, each followed by SP (or the end, after MSGID)
  for (let field = 0; field < 4; field++) {
    j = i
    while (j < end && msg[j] !== SP) j++
    if (j === i || (j === end && field < 3)) return invalid(start, end, opts.receivedAt)
    if (j - i !== 1 || msg[i] !== DASH) {
      if (field === 0) {
        scanned.hostA = i
        scanned.hostB = j
      } else if (field === 1) {
        scanned.appA = i
        scanned.appB = j
      } else if (field === 2) {
        scanned.procA = i
        scanned.procB = j
      } else {
        scanned.msgidA = i
        scanned.msgidB = j
      }
    }
    i = j + 1
  }

  // STRUCTURED-DATA: '-' or one or more [id name="value" ...]
  if (i < end) {
    const c = msg[i]
    if (c === DASH) {
      i++
      scanned.closed = i < end
    } else if (c === LBRACKET) {
      const sdStart = i
      i = structuredData(msg, i, end, undefined)
      if (i < 0) return invalid(start, end, opts.receivedAt)
      scanned.sdA = sdStart
      scanned.sdB = i
    } else {
      return invalid(start, end, opts.receivedAt)
    }
    if (i < end) {
      if (msg[i] !== SP) return invalid(start, end, opts.receivedAt)
      i++
    }
  } else if (i > end) {
    i = end
  }

  // MSG, without a UTF-8 BOM
  if (end - i >= 3 && msg[i] === 0xef && msg[i + 1] === 0xbb && msg[i + 2] === 0xbf) i += 3
  scanned.format = RFC5424
  scanned.ts = ts
  scanned.incomplete = incomplete
  scanned.body = i
  return RFC5424
}

const scan3164 = (msg: Buffer, i: number, end: number, opts: ParseOptions): number => {
  // TIMESTAMP: BSD `Mmm dd hh:mm:ss`, or the RFC 3339 one rsyslog's forward formats send
  let ts = NaN
  if (i < end) {
    if (isDigit(msg[i]!)) {
      let j = i
      while (j < end && msg[j] !== SP) j++
      ts = parseRfc3339(msg, i, j)
      if (ts === ts) i = j
    } else {
      ts = parseBsd(msg, i, end, opts)
      if (ts === ts) i = bsdEnd
    }
  }
  const incomplete = ts !== ts

  if (!incomplete) {
    while (i < end && msg[i] === SP) i++
    // HOSTNAME, unless the next word is already the tag (`tag:` / `tag[pid]:`, as local
    // /dev/log senders write it)
    let j = i
    const limit = Math.min(end, i + MAX_HOST + 1)
    while (j < limit && msg[j] !== SP) j++
    if (j > i && (j === end || msg[j] === SP) && msg[j - 1] !== COLON) {
      scanned.hostA = i
      scanned.hostB = j
      i = j < end ? j + 1 : end
    }
  }

  // TAG: `name:`, `name[pid]:` or `name[pid]` (rsyslog's traditional forward format drops the
  // colon of messages that arrived as RFC 5424), followed by SP or the end. A bare word is not
  // taken for a tag: it is as likely the first word of a tagless message.
  let j = i
  const limit = Math.min(end, i + MAX_TAG + 1)
  while (j < limit && msg[j] !== SP) j++
  if (j - i >= 2 && (j === end || msg[j] === SP)) {
    const colon = msg[j - 1] === COLON
    const close = colon ? j - 2 : j - 1
    let nameEnd = colon ? j - 1 : -1
    let procA = -1
    if (msg[close] === RBRACKET) {
      let k = i
      while (k < close && msg[k] !== LBRACKET) k++
      if (k < close && k > i) {
        if (k + 1 < close) procA = k + 1
        nameEnd = k
      }
    }
    if (nameEnd > i) {
      if (procA >= 0) {
        scanned.procA = procA
        scanned.procB = close
      }
      scanned.appA = i
      scanned.appB = nameEnd
      i = j < end ? j + 1 : end
    }
  }

  scanned.format = RFC3164
  scanned.ts = incomplete ? opts.receivedAt : ts
  scanned.incomplete = incomplete
  scanned.body = i
  return RFC3164
}

export const parseSyslog = (msg: Buffer, opts: ParseOptions): SyslogRecord => {
  const format = scanSyslog(msg, 0, msg.length, opts)
  const s = scanned
  const body = msg.subarray(s.body, s.end)
  if (format === INVALID) return { ts: s.ts, body, headers: { [SYSLOG_STATUS]: 'Invalid' } }
  head = msg.toString('latin1', 0, s.end < HEAD ? s.end : HEAD)
  const headers: Record<string, string> = {
    Facility: NUMBERS[s.pri >> 3]!,
    Severity: NUMBERS[s.pri & 7]!,
    'syslog.format': format === RFC5424 ? 'rfc5424' : 'rfc3164',
  }
  if (s.hostA >= 0) headers.host = text(msg, s.hostA, s.hostB)
  if (format === RFC5424) {
    if (s.appA >= 0) headers.appname = text(msg, s.appA, s.appB)
    if (s.procA >= 0) headers.procid = text(msg, s.procA, s.procB)
    if (s.msgidA >= 0) headers.msgid = text(msg, s.msgidA, s.msgidB)
    if (s.sdA >= 0) {
      const sdA = s.sdA
      const sdB = s.sdB
      structuredData(msg, sdA, s.end, headers)
      headers.sd = text(msg, sdA, sdB)
    }
  } else {
    // (a tag's pid is found before its name)
    if (s.procA >= 0) headers.procid = text(msg, s.procA, s.procB)
    if (s.appA >= 0) headers.appname = text(msg, s.appA, s.appB)
  }
  if (s.incomplete) headers[SYSLOG_STATUS] = 'Incomplete'
  return { ts: s.ts, body, headers }
}

// Header names built from SD ids and param names are few and repeat. V8 stores a property several
// times faster under a key string it has seen (internalized) than under a freshly built one, so the
// names are cached, looked up by a hash of the raw bytes (no string is built on a hit). Bounded:
// a sender inventing names forever only churns the cache.
interface SdKey {
  raw: Buffer
  key: string
}
const SD_KEYS_MAX = 1024
const sdKeys = new Map<number, SdKey>()
const sdKey = (msg: Buffer, idA: number, idB: number, nameA: number, nameB: number): string => {
  let h = 0x811c9dc5
  for (let i = idA; i < idB; i++) h = Math.imul(h ^ msg[i]!, 0x01000193)
  h = Math.imul(h ^ SP, 0x01000193)
  for (let i = nameA; i < nameB; i++) h = Math.imul(h ^ msg[i]!, 0x01000193)
  const known = sdKeys.get(h)
  const idLen = idB - idA
  if (known !== undefined && known.raw.length === idLen + 1 + nameB - nameA) {
    const raw = known.raw
    let same = raw[idLen] === SP
    for (let i = 0; same && i < idLen; i++) same = raw[i] === msg[idA + i]
    for (let i = 0; same && i < nameB - nameA; i++) same = raw[idLen + 1 + i] === msg[nameA + i]
    if (same) return known.key
  }
  const fresh = 'sd.' + text(msg, idA, idB) + '.' + text(msg, nameA, nameB)
  const key = Object.keys({ [fresh]: 0 })[0]! // the internalized copy
  if (sdKeys.size >= SD_KEYS_MAX) sdKeys.clear()
  sdKeys.set(h, { raw: Buffer.concat([msg.subarray(idA, idB), Buffer.of(SP), msg.subarray(nameA, nameB)]), key })
  return key
}

// SD-ELEMENTs from i; with headers, params go into them as sd.<id>.<name> (a repeated name: the
// last wins); without, they are only checked. Returns the index after the last ']', or -1 when
// malformed.
const structuredData = (msg: Buffer, i: number, end: number, headers: Record<string, string> | undefined): number => {
  while (i < end && msg[i] === LBRACKET) {
    i++
    let j = i
    while (j < end) {
      const c = msg[j]!
      if (c === SP || c === RBRACKET) break
      if (c === EQUALS || c === QUOTE) return -1
      j++
    }
    if (j === i || j === end) return -1
    const idA = i
    const idB = j
    i = j
    for (;;) {
      if (i >= end) return -1
      if (msg[i] === RBRACKET) {
        i++
        break
      }
      if (msg[i] !== SP) return -1
      i++
      j = i
      while (j < end) {
        const c = msg[j]!
        if (c === EQUALS) break
        if (c === SP || c === RBRACKET || c === QUOTE) return -1
        j++
      }
      if (j === i || j + 1 >= end || msg[j + 1] !== QUOTE) return -1
      const nameA = i
      const nameB = j
      // PARAM-VALUE: UTF-8 up to the closing '"'; \" \\ \] are escapes, any other '\' is literal
      i = j + 2
      let start = i
      let value = ''
      for (;;) {
        if (i >= end) return -1
        const c = msg[i]!
        if (c === QUOTE) break
        if (c === BACKSLASH && i + 1 < end) {
          const n = msg[i + 1]
          if (n === QUOTE || n === BACKSLASH || n === RBRACKET) {
            if (headers) value += text(msg, start, i)
            start = i + 1
            i += 2
            continue
          }
        }
        i++
      }
      if (headers) headers[sdKey(msg, idA, idB, nameA, nameB)] = value + text(msg, start, i)
      i++
    }
  }
  return i
}
