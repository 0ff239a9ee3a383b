import { isAscii } from 'node:buffer'
import { escapeAscii, bodyFieldsBound, quotedBound, writeBodyFields, writeQuoted } from '../../core/json-bytes.js'
import { writeDigits, type HeadBlock } from '../../core/head-block.js'
import { escaper, WasmEscaper } from '../../core/json-escape-wasm.js'
import { viewOf } from '../../core/json-scan.js'
import { FrameList, type SyslogFrame } from './framing.js'
import { INVALID, RFC5424, parseSyslog, scanSyslog, scanned, type ParseOptions, type SyslogRecord } from './parse.js'

// Syslog messages → event heads: body from MSG, ts from its timestamp, host from its HOSTNAME
// (else the sender's address), every parsed field as a header:
// {"body":"...","ts":T,"host":"H","headers":{...}[,"truncated":true]
// The same bytes as JSON.stringify would make (test/sources/tcp/syslog-listeners.test.ts).
//
// SyslogBlock renders the frames of one read straight into the writer's buffer: each message is
// scanned as bytes (parse.ts's scanSyslog: offsets, no record, no header strings) and its fields
// are escaped from the read buffer into the output. Only a message with STRUCTURED-DATA (its
// params become headers) takes the record path: parseSyslog, then the head from the record.

const TS = Buffer.from(',"ts":')
const HOST = Buffer.from(',"host":')
const HEADERS = Buffer.from(',"headers":{')
const TRUNCATED = Buffer.from(',"truncated":true')
const BODY = Buffer.from('"body":"')
const INVALID_HEADERS = Buffer.from('"flume.syslog.status":"Invalid"')
const INCOMPLETE = Buffer.from(',"flume.syslog.status":"Incomplete"')
const H_HOST = Buffer.from(',"host":')
const H_APPNAME = Buffer.from(',"appname":')
const H_PROCID = Buffer.from(',"procid":')
const H_MSGID = Buffer.from(',"msgid":')
// the first three headers of a valid message, by format and PRI
const PRI_HEADERS = [RFC5424, 2].map((format) =>
  Array.from({ length: 192 }, (_, pri) =>
    Buffer.from(`"Facility":"${pri >> 3}","Severity":"${pri & 7}","syslog.format":"${format === RFC5424 ? 'rfc5424' : 'rfc3164'}"`),
  ),
)
// the longest of the constant parts of a head, all together
const FIXED = 320
// the longest header (the message before its body) whose tail is kept for the next message
const KEY_MAX = 512
const KEY_FIELDS = 13
const EMPTY = Buffer.alloc(0)
// a field's offset from the message's start (-1: absent), and back
const rel = (a: number, start: number): number => (a < 0 ? -1 : a - start)
const abs = (r: number, start: number): number => (r < 0 ? -1 : r + start)

// The last ts written and its digits: a sender's messages mostly share their timestamp.
let lastTs = NaN
const tsDigits = Buffer.alloc(32)
let tsLength = 0

const put = (src: Buffer, out: Buffer, at: number): number => {
  for (let k = 0; k < src.length; k++) out[at++] = src[k]!
  return at
}

// "body":"<bytes>" (and "body64" when the bytes are not UTF-8), as writeBodyFields writes it.
const writeBody = (msg: Buffer, a: number, b: number, out: Buffer, at: number, W: Uint32Array<ArrayBufferLike>): number => {
  const start = at
  at = escapeAscii(msg, a, b, out, put(BODY, out, at), W)
  if (at >= 0) {
    out[at++] = 0x22
    return at
  }
  return writeBodyFields(msg.subarray(a, b), out, start)
}

// A header value msg[a, b) quoted, as writeQuoted(text) writes it: ASCII escaped from the bytes,
// anything else decoded as UTF-8 first (invalid sequences become U+FFFD, as parseSyslog's text does).
const writeRange = (msg: Buffer, a: number, b: number, out: Buffer, at: number, W: Uint32Array<ArrayBufferLike>): number => {
  out[at] = 0x22
  const end = escapeAscii(msg, a, b, out, at + 1, W)
  if (end >= 0) {
    out[end] = 0x22
    return end + 1
  }
  return writeQuoted(msg.toString('utf8', a, b), out, at)
}

// The head of a parsed record (the path of messages with structured data).
export const recordHead = (r: SyslogRecord, truncated: boolean, peer: string): Buffer => {
  let bound = bodyFieldsBound(r.body.length) + 80 + quotedBound(r.headers.host ?? peer)
  const headers = r.headers
  for (const k in headers) bound += quotedBound(k) + quotedBound(headers[k]!) + 2
  const out = Buffer.allocUnsafe(bound)
  let at = 0
  out[at++] = 0x7b
  at = writeBodyFields(r.body, out, at)
  out.set(TS, at)
  at += TS.length
  at += out.write(String(r.ts), at, 'latin1')
  out.set(HOST, at)
  at = writeQuoted(r.headers.host ?? peer, out, at + HOST.length)
  out.set(HEADERS, at)
  at += HEADERS.length
  let first = true
  for (const k in headers) {
    if (!first) out[at++] = 0x2c
    first = false
    at = writeQuoted(k, out, at)
    out[at++] = 0x3a
    at = writeQuoted(String(headers[k]), out, at)
  }
  out[at++] = 0x7d
  if (truncated) {
    out.set(TRUNCATED, at)
    at += TRUNCATED.length
  }
  return out.subarray(0, at)
}

// The escaper with msg's bytes loaded, when msg is all ASCII (then any body cut from it is valid
// UTF-8, and escaping it is JSON.stringify's): the frames of one read share one check and one copy
// into its memory, and their bodies are escaped there 16 bytes a step. Else undefined.
let asciiOf: Buffer | undefined
let asciiIs = false
const asciiEscaper = (msg: Buffer): WasmEscaper | undefined => {
  if (msg !== asciiOf) {
    asciiOf = msg
    asciiIs = msg.length <= WasmEscaper.srcMax && isAscii(msg)
  }
  if (!asciiIs) return undefined
  const wasm = escaper()
  wasm?.load(msg)
  return wasm
}

// which block and frame `scanned` holds
let scannedBlock: SyslogBlock | undefined
let scannedFrame = -1

// The frames of one read as a HeadBlock (of() before each write; rendered during that write).
export class SyslogBlock implements HeadBlock {
  private frames = new FrameList()
  private readonly opts: ParseOptions = { receivedAt: 0 }
  private readonly peer: string
  private readonly peerQuoted: Buffer
  // the head of the scanned frame when it took the record path
  private slow: Buffer | undefined

  constructor(peer: string) {
    this.peer = peer
    const q = Buffer.allocUnsafe(quotedBound(peer))
    this.peerQuoted = Buffer.from(q.subarray(0, writeQuoted(peer, q, 0)))
  }

  of(frames: FrameList, receivedAt: number): this {
    this.frames = frames
    this.opts.receivedAt = receivedAt
    scannedBlock = undefined
    // a new read: its buffers are checked and loaded afresh (never trust a reused Buffer's bytes)
    asciiOf = undefined
    escaper()?.unload()
    return this
  }

  // the writer's chunks in the escaper's memory: bodies escaped straight into them
  chunk(size: number): Buffer | undefined {
    return escaper()?.chunk(size)
  }

  get length(): number {
    return this.frames.count
  }

  private scan(i: number): void {
    const f = this.frames
    const msg = f.bufs[i]!
    this.reused = this.sameHeader(msg, f.starts[i]!, f.ends[i]!)
    if (this.reused) {
      this.slow = undefined
      scannedBlock = this
      scannedFrame = i
      return
    }
    const format = scanSyslog(msg, f.starts[i]!, f.ends[i]!, this.opts)
    this.slow =
      format === RFC5424 && scanned.sdA >= 0
        ? recordHead(parseSyslog(msg.subarray(f.starts[i], f.ends[i]), this.opts), f.truncated[i] === 1, this.peer)
        : undefined
    scannedBlock = this
    scannedFrame = i
  }

  size(i: number): number {
    this.scan(i)
    if (this.slow) return this.slow.length
    const s = scanned
    const host = s.hostA >= 0 ? 12 * (s.hostB - s.hostA) + 4 : this.peerQuoted.length
    return FIXED + bodyFieldsBound(s.end - s.body) + host + 6 * (s.appB - s.appA) + 6 * (s.procB - s.procA) + 6 * (s.msgidB - s.msgidA)
  }

  render(i: number, out: Buffer, at: number): number {
    if (scannedBlock !== this || scannedFrame !== i) this.scan(i)
    if (this.slow) return put(this.slow, out, at)
    const s = scanned
    const msg = this.frames.bufs[i]!
    const W = viewOf(msg).words
    out[at++] = 0x7b
    const wasm = asciiEscaper(msg)
    if (wasm && 6 * (s.end - s.body) <= WasmEscaper.dstMax) {
      at = wasm.escape(s.body, s.end, out, put(BODY, out, at))
      out[at++] = 0x22
    } else at = writeBody(msg, s.body, s.end, out, at, W)
    const start = this.frames.starts[i]!
    const truncated = this.frames.truncated[i]!
    if (this.sameTail(msg, start, truncated)) {
      out.set(this.tail, at)
      return at + this.tail.length
    }
    const from = at
    at = this.renderTail(msg, W, truncated, out, at)
    this.keepTail(msg, start, truncated, out.subarray(from, at))
    return at
  }

  // Everything after the body, from `,"ts":` on: the same bytes for every message whose header
  // bytes and fields are the same (a sender's messages mostly differ in their bodies alone).
  private tail = EMPTY
  private readonly key = Buffer.alloc(KEY_MAX) // the header bytes (the message before its body)
  private keyLength = -1
  private readonly keyFields = new Float64Array(KEY_FIELDS)
  // the key is an RFC 5424 header that sameHeader may reuse; the scanned frame's header was reused
  private headerReused = false
  private reused = false

  // The fields of `scanned` the tail is made of (ranges relative to the message's start).
  private static fields(start: number, truncated: number, into: Float64Array): void {
    const s = scanned
    into[0] = s.format
    into[1] = s.pri
    into[2] = s.ts
    into[3] = s.incomplete ? 1 : 0
    into[4] = truncated
    into[5] = rel(s.hostA, start)
    into[6] = rel(s.hostB, start)
    into[7] = rel(s.appA, start)
    into[8] = rel(s.appB, start)
    into[9] = rel(s.procA, start)
    into[10] = rel(s.procB, start)
    into[11] = rel(s.msgidA, start)
    into[12] = rel(s.msgidB, start)
  }

  // The message msg[start, stop) starts with the header bytes of the last RFC 5424 message
  // rendered (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID - `, its timestamp readable): its scan would
  // find the same fields, so `scanned` is set from those without one. Every decision of scan5424
  // up to the body falls on those bytes (the header ends with the SP after its nil SD), given the
  // message does not end inside them; after them it looks at a BOM only, checked here.
  private sameHeader(msg: Buffer, start: number, stop: number): boolean {
    const n = this.keyLength
    if (!this.headerReused || n <= 0) return false
    let end = stop
    if (end > start && msg[end - 1] === 0x0a) {
      end--
      if (end > start && msg[end - 1] === 0x0d) end--
    }
    if (end - start < n) return false
    const key = this.key
    for (let k = 0; k < n; k++) if (msg[start + k] !== key[k]) return false
    const body = start + n
    if (end - body >= 3 && msg[body] === 0xef && msg[body + 1] === 0xbb && msg[body + 2] === 0xbf) return false
    const s = scanned
    const f = this.keyFields
    s.format = RFC5424
    s.pri = f[1]!
    s.ts = f[2]!
    s.incomplete = false
    s.body = body
    s.end = end
    s.hostA = abs(f[5]!, start)
    s.hostB = abs(f[6]!, start)
    s.appA = abs(f[7]!, start)
    s.appB = abs(f[8]!, start)
    s.procA = abs(f[9]!, start)
    s.procB = abs(f[10]!, start)
    s.msgidA = abs(f[11]!, start)
    s.msgidB = abs(f[12]!, start)
    s.sdA = s.sdB = -1
    s.closed = true
    return true
  }

  private sameTail(msg: Buffer, start: number, truncated: number): boolean {
    // the header bytes and fields are the key's (sameHeader)
    if (this.reused) return this.keyFields[4] === truncated
    const s = scanned
    const n = s.body - start
    if (n !== this.keyLength) return false
    const key = this.key
    for (let k = 0; k < n; k++) if (msg[start + k] !== key[k]) return false
    const f = this.keyFields
    return (
      f[0] === s.format &&
      f[1] === s.pri &&
      f[2] === s.ts &&
      f[3] === (s.incomplete ? 1 : 0) &&
      f[4] === truncated &&
      f[5] === rel(s.hostA, start) &&
      f[6] === rel(s.hostB, start) &&
      f[7] === rel(s.appA, start) &&
      f[8] === rel(s.appB, start) &&
      f[9] === rel(s.procA, start) &&
      f[10] === rel(s.procB, start) &&
      f[11] === rel(s.msgidA, start) &&
      f[12] === rel(s.msgidB, start)
    )
  }

  private keepTail(msg: Buffer, start: number, truncated: number, tail: Buffer): void {
    const s = scanned
    const n = s.body - start
    // (a NaN ts never equals itself: such a tail is never reused)
    if (n > KEY_MAX) {
      this.keyLength = -1
      this.headerReused = false
      return
    }
    msg.copy(this.key, 0, start, s.body)
    this.keyLength = n
    this.headerReused = s.format === RFC5424 && s.closed && !s.incomplete && msg[s.body - 1] === 0x20
    SyslogBlock.fields(start, truncated, this.keyFields)
    this.tail = Buffer.from(tail)
  }

  private renderTail(msg: Buffer, W: Uint32Array<ArrayBufferLike>, truncated: number, out: Buffer, at: number): number {
    const s = scanned
    at = put(TS, out, at)
    if (s.ts !== lastTs) {
      lastTs = s.ts
      tsLength = s.ts >= 0 && Number.isSafeInteger(s.ts) ? writeDigits(tsDigits, 0, s.ts) : tsDigits.write(String(s.ts), 0, 'latin1')
    }
    for (let k = 0; k < tsLength; k++) out[at++] = tsDigits[k]!
    at = put(HOST, out, at)
    at = s.hostA >= 0 ? writeRange(msg, s.hostA, s.hostB, out, at, W) : put(this.peerQuoted, out, at)
    at = put(HEADERS, out, at)
    if (s.format === INVALID) at = put(INVALID_HEADERS, out, at)
    else {
      at = put(PRI_HEADERS[s.format === RFC5424 ? 0 : 1]![s.pri]!, out, at)
      if (s.hostA >= 0) at = writeRange(msg, s.hostA, s.hostB, out, put(H_HOST, out, at), W)
      if (s.format === RFC5424) {
        if (s.appA >= 0) at = writeRange(msg, s.appA, s.appB, out, put(H_APPNAME, out, at), W)
        if (s.procA >= 0) at = writeRange(msg, s.procA, s.procB, out, put(H_PROCID, out, at), W)
        if (s.msgidA >= 0) at = writeRange(msg, s.msgidA, s.msgidB, out, put(H_MSGID, out, at), W)
      } else {
        // (a tag's pid is found before its name)
        if (s.procA >= 0) at = writeRange(msg, s.procA, s.procB, out, put(H_PROCID, out, at), W)
        if (s.appA >= 0) at = writeRange(msg, s.appA, s.appB, out, put(H_APPNAME, out, at), W)
      }
      if (s.incomplete) at = put(INCOMPLETE, out, at)
    }
    out[at++] = 0x7d
    if (truncated === 1) at = put(TRUNCATED, out, at)
    return at
  }
}

// The heads of some frames as Buffers (UDP datagrams, tests).
export const syslogHeads = (frames: readonly SyslogFrame[], peer: string, receivedAt: number): Buffer[] => {
  const list = new FrameList()
  for (const f of frames) list.add(f.msg, 0, f.msg.length, f.truncated ? 1 : 0)
  const block = new SyslogBlock(peer).of(list, receivedAt)
  const heads: Buffer[] = []
  for (let i = 0; i < block.length; i++) {
    const buf = Buffer.allocUnsafe(block.size(i))
    heads.push(buf.subarray(0, block.render(i, buf, 0)))
  }
  return heads
}
