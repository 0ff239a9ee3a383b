import { isUtf8 } from 'node:buffer'
import { writeDigits, type HeadBlock } from '../../core/head-block.js'
import { escapeBytes } from '../../core/json-bytes.js'
import { escaper, WasmEscaper } from '../../core/json-escape-wasm.js'
import { releaseScanBuffer, viewOf } from '../../core/json-scan.js'
import { quote } from '../../core/json-string.js'
import { fetchedRecord, type FetchedRecords } from '../../kafka/consumer.js'
import { newEventSpans, scanEventValue } from './event-value.js'
import { recordHead } from './records.js'

// A fetch's records as event heads rendered straight from the fetched bytes into the writer's
// buffer: no string, Buffer or object per record. The heads are exactly recordHead()'s (records.ts,
// the reference, which a test holds these to):
// - a value that is not JSON (a log line) becomes {"body":"<value>","ts":T,"headers":{place},
//   "src":"kafka:T:P","seq":N, its bytes escaped on the way as JSON.stringify would;
// - a tsf event as tsf writes events (event-value.ts says exactly which) is its own bytes, the
//   cursor left out, the place added to its headers and src/seq added when it has no src;
// - anything else (invalid UTF-8, a binary key, JSON written differently, older message formats)
//   is recordHead()'s string, made when the block is.

const PLAIN = 0
const EVENT = 1
const CAREFUL = 2

const BODY_OPEN = Buffer.from('{"body":"')
const TS = Buffer.from('","ts":')
const HEADERS_OPEN = Buffer.from(',"headers":{')
const KEY = Buffer.from('","key":"')
const QUOTE = 0x22

export class RecordHeads implements HeadBlock {
  readonly length: number
  // how many heads are recordHead()'s strings (the rest are rendered from the bytes)
  careful = 0
  private readonly kinds: Uint8Array
  // per head of kind EVENT: the splices (offsets in the record's buffer; see event-value.ts)
  private readonly ackFrom: Int32Array
  private readonly ackTo: Int32Array
  private readonly headersClose: Int32Array
  private readonly flags: Uint8Array
  private strings?: (string | undefined)[]
  // "topic":"T","partition":"P","offset":"
  private readonly placeBytes: Buffer
  // ,"src":"kafka:T:P","seq":
  private readonly srcBytes: Buffer

  constructor(
    topic: string,
    partition: number,
    private readonly records: FetchedRecords,
  ) {
    const { set, index } = records
    const n = index.length
    this.length = n
    this.placeBytes = Buffer.from(`${quote('topic')}:${quote(topic)},"partition":${quote(String(partition))},"offset":"`)
    this.srcBytes = Buffer.from(`,"src":${quote(`kafka:${topic}:${partition}`)},"seq":`)
    this.kinds = new Uint8Array(n)
    this.ackFrom = new Int32Array(n)
    this.ackTo = new Int32Array(n)
    this.headersClose = new Int32Array(n)
    this.flags = new Uint8Array(n)
    const spans = newEventSpans()
    for (let i = 0; i < n; i++) {
      const r = index[i]!
      let kind = CAREFUL
      if (!set.legacy) {
        const buf = set.bufferOf(r)
        const keyLength = set.keyLength[r]!
        const s = set.valueAt[r]!
        const e = s + Math.max(0, set.valueLength[r]!)
        if (keyLength <= 0 || isUtf8(buf.subarray(set.keyAt[r]!, set.keyAt[r]! + keyLength))) {
          if (s === e || buf[s] !== 0x7b) kind = isUtf8(buf.subarray(s, e)) ? PLAIN : CAREFUL
          else if (isUtf8(buf.subarray(s, e))) {
            const v = viewOf(buf)
            const base = buf.byteOffset
            if (scanEventValue(v, base + s, base + e, spans)) {
              kind = EVENT
              this.ackFrom[i] = spans.ackFrom < 0 ? -1 : spans.ackFrom - base
              this.ackTo[i] = spans.ackTo - base
              this.headersClose[i] = spans.headersClose < 0 ? -1 : spans.headersClose - base
              this.flags[i] = (spans.headersEmpty ? 1 : 0) | (spans.hasSrc ? 2 : 0)
            }
          }
        }
      }
      this.kinds[i] = kind
      if (kind === CAREFUL) {
        ;(this.strings ??= [])[i] = recordHead(topic, partition, fetchedRecord(set, r))
        this.careful++
      }
    }
    releaseScanBuffer()
  }

  // the writer's chunks in the escaper's memory: values escaped straight into them
  chunk(size: number): Buffer | undefined {
    return escaper()?.chunk(size)
  }

  size(i: number): number {
    const kind = this.kinds[i]!
    if (kind === CAREFUL) return 3 * this.strings![i]!.length
    const { set, index } = this.records
    const r = index[i]!
    const value = Math.max(0, set.valueLength[r]!)
    const key = set.keyLength[r]! >= 0 ? KEY.length + 6 * set.keyLength[r]! + 1 : 0
    const tail = HEADERS_OPEN.length + this.placeBytes.length + 18 + key + 2 + this.srcBytes.length + 17
    return kind === PLAIN ? BODY_OPEN.length + 6 * value + TS.length + 21 + tail : value + tail
  }

  render(i: number, out: Buffer, at: number): number {
    const kind = this.kinds[i]!
    if (kind === CAREFUL) return at + out.write(this.strings![i]!, at, 'utf8')
    const { set, index } = this.records
    const r = index[i]!
    const buf = set.bufferOf(r)
    const s = set.valueAt[r]!
    const offset = set.offsets[r]!
    if (kind === PLAIN) {
      const e = s + Math.max(0, set.valueLength[r]!)
      out.set(BODY_OPEN, at)
      at += BODY_OPEN.length
      const wasm = escaper()
      if (wasm && e - s >= 16 && e - s <= WasmEscaper.srcMax && 6 * (e - s) <= WasmEscaper.dstMax) at = wasm.escapeFrom(buf, s, e, out, at)
      else at = escapeBytes(buf, s, e, out, at)
      out.set(TS, at)
      at += TS.length
      const ts = set.timestamps[r]!
      if (ts < 0) out[at++] = 0x2d // -
      at = writeDigits(out, at, Math.abs(ts))
      out.set(HEADERS_OPEN, at)
      at = this.place(out, at + HEADERS_OPEN.length, r, offset)
      out[at++] = 0x7d // }
      return this.seq(out, at, offset)
    }
    // a tsf event: its bytes up to its closing brace, with the splices
    const e = s + set.valueLength[r]! - 1
    const close = this.headersClose[i]!
    const flags = this.flags[i]!
    if (close >= 0) {
      at = this.copy(i, buf, s, close, out, at)
      if (!(flags & 1)) out[at++] = 0x2c // ,
      at = this.place(out, at, r, offset)
      out[at++] = 0x7d
      at = this.copy(i, buf, close + 1, e, out, at)
    } else {
      at = this.copy(i, buf, s, e, out, at)
      out.set(HEADERS_OPEN, at)
      at = this.place(out, at + HEADERS_OPEN.length, r, offset)
      out[at++] = 0x7d
    }
    return flags & 2 ? at : this.seq(out, at, offset)
  }

  // buf[from, to) into out, less the event's cursor member when it is in there
  private copy(i: number, buf: Buffer, from: number, to: number, out: Buffer, at: number): number {
    const cut = this.ackFrom[i]!
    if (cut >= from && cut < to) {
      at += buf.copy(out, at, from, cut)
      from = this.ackTo[i]!
    }
    return at + buf.copy(out, at, from, to)
  }

  // "topic":"T","partition":"P","offset":"O"[,"key":"K"]
  private place(out: Buffer, at: number, r: number, offset: number): number {
    out.set(this.placeBytes, at)
    at = writeDigits(out, at + this.placeBytes.length, offset)
    const { set } = this.records
    const keyLength = set.keyLength[r]!
    if (keyLength >= 0) {
      out.set(KEY, at)
      at += KEY.length
      at = escapeBytes(set.bufferOf(r), set.keyAt[r]!, set.keyAt[r]! + keyLength, out, at)
    }
    out[at++] = QUOTE
    return at
  }

  // ,"src":"kafka:T:P","seq":offset+1
  private seq(out: Buffer, at: number, offset: number): number {
    out.set(this.srcBytes, at)
    return writeDigits(out, at + this.srcBytes.length, offset + 1)
  }
}
