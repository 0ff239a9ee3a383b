import { escapeAscii, bodyFieldsBound, quotedBound, writeBodyFields, writeQuoted } from '../../core/json-bytes.js'
import { writeDigits, type HeadBlock } from '../../core/head-block.js'
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
    return this
  }

  get length(): number {
    return this.frames.count
  }

  private scan(i: number): void {
    const f = this.frames
    const msg = f.bufs[i]!
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
    at = writeBody(msg, s.body, s.end, out, at, W)
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
    if (this.frames.truncated[i] === 1) at = put(TRUNCATED, out, at)
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
