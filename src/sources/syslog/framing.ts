// Incremental syslog-over-TCP framing (RFC 6587), both methods on one connection, decided per frame:
//   - octet counting: `<len> <msg>`: a frame that starts with a digit run, one space and then '<'
//   - non-transparent framing: `<msg>\n` (CRLF tolerated): anything else
// Blank lines (and stray CR, NUL or SP bytes) between frames are skipped. A frame that starts with neither '<' nor a count is
// garbage: it runs to the next newline and is returned as it is, so the parser keeps it as an
// invalid message instead of it being dropped; the stream resynchronises on the following frame.
//
// An octet count larger than maxFrame is not trusted (rsyslog likewise switches to newline framing
// past its MaxFrameSize): a sender that lies, say `999999999 <13>...`, would otherwise swallow every
// later message on its connection. The frame is read as lines instead, framed as usual, except
// that no line runs past the count's end, and a line cut at maxFrame has its tail skipped to its
// newline or to the count's end, whichever is first: an honest oversize frame, with newlines inside
// or without, still resumes at the next frame, and a lying count loses nothing after it. badCount
// holds the first such count for the listener to report.
//
// Memory is bounded by maxFrame: a longer frame (of either kind) is returned cut to maxFrame bytes
// with truncated: true, and the rest of it is skipped without being buffered. Frames that fit in
// one pushed chunk are views into that chunk (no copy); the framer never writes to them.
//
// pushInto() is the hot path: frames go into a FrameList as (buffer, start, end) triples, with no
// Buffer view or object per frame; push() returns them as SyslogFrame objects.

export interface SyslogFrame {
  msg: Buffer
  // the frame was longer than maxFrame (or the stream ended inside an octet-counted frame): msg
  // holds its first bytes only
  truncated?: true
}

export interface SyslogTcpFramerOptions {
  // longest frame kept, in bytes (default 64 KiB)
  maxFrame?: number
}

// The frames of one push: frame n is bufs[n][starts[n], ends[n]), cut when truncated[n] is 1.
// Reused across pushes (clear() before each): the arrays only grow to the most frames of one read.
export class FrameList {
  count = 0
  bufs: Buffer[] = []
  starts: number[] = []
  ends: number[] = []
  truncated: number[] = []

  add(buf: Buffer, start: number, end: number, truncated: number): void {
    const n = this.count++
    this.bufs[n] = buf
    this.starts[n] = start
    this.ends[n] = end
    this.truncated[n] = truncated
  }

  // forgets the frames (and the buffers they point into, beyond the first slots' reuse)
  clear(): void {
    for (let n = 0; n < this.count; n++) this.bufs[n] = EMPTY
    this.count = 0
  }

  frames(): SyslogFrame[] {
    const out: SyslogFrame[] = []
    for (let n = 0; n < this.count; n++) {
      const msg = this.bufs[n]!.subarray(this.starts[n], this.ends[n])
      out.push(this.truncated[n] ? { msg, truncated: true } : { msg })
    }
    return out
  }
}

const EMPTY = Buffer.alloc(0)

export const DEFAULT_MAX_FRAME = 64 * 1024

const LF = 0x0a
const CR = 0x0d
const SP = 0x20
const LT = 0x3c
const NUL = 0x00
// 10 digits is beyond any sane length and stays an exact integer.
const MAX_COUNT_DIGITS = 10

const START = 0 // between frames
const COUNT = 1 // reading the digits of an octet count (kept in parts in case it is garbage)
const AFTER_COUNT = 2 // read `<digits> `, the next byte decides: '<' octet-counted, else a line
const OCTETS = 3 // inside an octet-counted frame, `remaining` bytes to go
const LINE = 4 // inside a newline-terminated frame
const SKIP_OCTETS = 5 // discarding the tail of an oversize octet-counted frame
const SKIP_LINE = 6 // discarding the tail of an oversize line
const SKIP_COUNTED = 7 // discarding the tail of a cut line that had an untrusted count: to LF or the count's end

export class SyslogTcpFramer {
  private readonly max: number
  private state = START
  private parts: Buffer[] = []
  private partsLen = 0
  private count = 0
  private countDigits = 0
  // OCTETS, SKIP_OCTETS: bytes left
  private remaining = 0
  // where the last untrusted count's frame ends, in bytes of the connection (lines stop there)
  private countEnd = 0
  // bytes of the connection before the chunk being pushed
  private base = 0
  // the first octet count over maxFrame (0: none yet)
  badCount = 0

  constructor(options: SyslogTcpFramerOptions = {}) {
    const max = options.maxFrame ?? DEFAULT_MAX_FRAME
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`maxFrame must be a positive integer, got ${max}`)
    this.max = max
  }

  push(chunk: Buffer): SyslogFrame[] {
    const list = new FrameList()
    this.pushInto(chunk, list)
    return list.frames()
  }

  // The frames completed by chunk, added to out.
  pushInto(chunk: Buffer, out: FrameList): void {
    const n = chunk.length
    let i = 0
    while (i < n) {
      switch (this.state) {
        case START: {
          const c = chunk[i]!
          if (c === LF || c === CR || c === NUL || c === SP) {
            i++
            break
          }
          if (c >= 0x30 && c <= 0x39) {
            this.state = COUNT
            this.count = 0
            this.countDigits = 0
          } else {
            this.state = LINE
          }
          break
        }
        case COUNT: {
          const start = i
          while (i < n) {
            const c = chunk[i]!
            if (c < 0x30 || c > 0x39 || this.countDigits === MAX_COUNT_DIGITS) break
            this.count = this.count * 10 + c - 0x30
            this.countDigits++
            i++
          }
          if (i > start) this.keep(chunk.subarray(start, i))
          if (i === n) break
          if (chunk[i] === SP) {
            this.keep(chunk.subarray(i, i + 1))
            i++
            if (this.count === 0) {
              this.reset()
              this.state = START
            } else this.state = AFTER_COUNT
          } else {
            // `123abc`, or too many digits: not a count, the start of a garbage line
            this.state = LINE
          }
          break
        }
        case AFTER_COUNT: {
          if (chunk[i] === LT) {
            this.reset()
            if (this.count <= this.max) {
              this.remaining = this.count
              this.countEnd = 0 // a real frame: an untrusted count before it is over
              this.state = OCTETS
            } else {
              if (this.badCount === 0) this.badCount = this.count
              this.countEnd = this.base + i + this.count
              this.state = LINE
            }
          } else {
            this.state = LINE // `12 apples`: a line that happens to start with a number
          }
          break
        }
        case OCTETS: {
          const room = this.max - this.partsLen
          const take = Math.min(this.remaining, n - i)
          if (take <= room) {
            this.remaining -= take
            if (this.remaining === 0 && this.parts.length === 0) {
              out.add(chunk, i, i + take, 0)
              this.state = START
            } else {
              this.keep(chunk.subarray(i, i + take))
              if (this.remaining === 0) {
                const msg = this.take()
                out.add(msg, 0, msg.length, 0)
                this.state = START
              }
            }
            i += take
          } else {
            // over maxFrame: deliver what fits now, skip the rest as it arrives
            this.keep(chunk.subarray(i, i + room))
            const msg = this.take()
            out.add(msg, 0, msg.length, 1)
            this.remaining -= room
            i += room
            this.state = SKIP_OCTETS
          }
          break
        }
        case SKIP_OCTETS: {
          const take = Math.min(this.remaining, n - i)
          this.remaining -= take
          i += take
          if (this.remaining === 0) this.state = START
          break
        }
        case LINE: {
          // inside an untrusted count, no line runs past the count's end
          const left = this.countEnd - (this.base + i)
          const end = left > 0 ? Math.min(n, i + left) : n
          let eol = chunk.indexOf(LF, i)
          if (eol >= end) eol = -1
          const atCountEnd = left > 0 && eol < 0 && end - i === left
          const stop = eol < 0 ? end : eol
          const room = this.max - this.partsLen
          if (stop - i > room) {
            // (a CR right before the LF would make it fit: allow for it)
            if (!(eol >= 0 && stop - i === room + 1 && chunk[stop - 1] === CR)) {
              this.keep(chunk.subarray(i, i + room))
              const msg = this.take()
              out.add(msg, 0, msg.length, 1)
              i += room
              this.state = left > 0 ? SKIP_COUNTED : SKIP_LINE
              break
            }
          }
          if (eol < 0 && !atCountEnd) {
            this.keep(chunk.subarray(i, end))
            i = end
            break
          }
          let msgEnd = stop
          if (this.parts.length === 0) {
            if (msgEnd > i && chunk[msgEnd - 1] === CR) msgEnd--
            if (msgEnd > i) out.add(chunk, i, msgEnd, 0)
          } else {
            this.keep(chunk.subarray(i, msgEnd))
            const frame = this.take()
            let frameEnd = frame.length
            if (frameEnd > 0 && frame[frameEnd - 1] === CR) frameEnd--
            if (frameEnd > 0) out.add(frame, 0, frameEnd, 0)
          }
          i = eol < 0 ? end : eol + 1
          this.state = START
          break
        }
        case SKIP_LINE: {
          const eol = chunk.indexOf(LF, i)
          if (eol < 0) {
            i = n
            break
          }
          i = eol + 1
          this.state = START
          break
        }
        case SKIP_COUNTED: {
          // the cut line's tail, to its newline or to the count's end, whichever is first
          const left = this.countEnd - (this.base + i)
          const take = Math.min(left, n - i)
          const eol = chunk.indexOf(LF, i)
          if (eol >= 0 && eol < i + take) {
            i = eol + 1
            this.state = START
            break
          }
          i += take
          if (left === take) this.state = START
          break
        }
      }
    }
    this.base += n
  }

  // The connection ended: whatever is buffered is the last frame (an unterminated line as it is,
  // a cut octet-counted frame with truncated: true, a lone count as garbage).
  end(): SyslogFrame[] {
    const state = this.state
    this.state = START
    this.remaining = 0
    this.countEnd = 0
    if (this.partsLen === 0) {
      this.reset()
      return []
    }
    let msg = this.take()
    if (state === OCTETS) return [{ msg, truncated: true }]
    if (state === SKIP_LINE || state === SKIP_OCTETS || state === SKIP_COUNTED) return []
    if (msg[msg.length - 1] === CR) msg = msg.subarray(0, msg.length - 1)
    return msg.length > 0 ? [{ msg }] : []
  }

  // end() into a FrameList.
  endInto(out: FrameList): void {
    for (const f of this.end()) out.add(f.msg, 0, f.msg.length, f.truncated ? 1 : 0)
  }

  private keep(b: Buffer): void {
    if (b.length === 0) return
    // a view pins its whole read: the start of a message at the end of a 64 KiB read, kept until
    // the connection's next turn, held 64 KiB per sender (~6 MB with 1,000 senders); a copy of a
    // small piece costs nothing next to that
    if (b.length * 4 < b.buffer.byteLength) b = Buffer.from(b)
    this.parts.push(b)
    this.partsLen += b.length
  }

  private take(): Buffer {
    const msg = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.partsLen)
    this.reset()
    return msg
  }

  private reset(): void {
    this.parts = []
    this.partsLen = 0
  }
}
