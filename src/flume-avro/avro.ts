// The few Avro binary primitives Flume's RPC needs: zig-zag varints, length-prefixed bytes, and
// blocked maps/arrays. Hand-written so the hot path reads spans of the frame, never Avro objects.

export class AvroError extends Error {
  override name = 'AvroError'
}

// A read position over one decoded message. Spans are [start, end) offsets into buf.
export class AvroReader {
  buf: Buffer = Buffer.alloc(0)
  pos = 0

  reset(buf: Buffer, pos = 0): this {
    this.buf = buf
    this.pos = pos
    return this
  }

  get left(): number {
    return this.buf.length - this.pos
  }

  // zig-zag varint; exact up to 2^53, which bounds every length and count we accept
  long(): number {
    const buf = this.buf
    let n = 0
    let scale = 1
    for (;;) {
      if (this.pos >= buf.length) throw new AvroError('message ends inside a number')
      const b = buf[this.pos++]!
      n += (b & 0x7f) * scale
      if (!(b & 0x80)) break
      scale *= 128
      if (scale > 2 ** 56) throw new AvroError('number longer than 8 bytes')
    }
    return n % 2 === 0 ? n / 2 : -(n + 1) / 2
  }

  // bytes or string: afterwards [start, pos) is its data, without copying it
  start = 0
  span(): void {
    const len = this.long()
    if (len < 0 || len > this.left) throw new AvroError(`a length of ${len} runs past the message (${this.left} bytes left)`)
    this.start = this.pos
    this.pos += len
  }

  string(): string {
    this.span()
    return this.buf.toString('utf8', this.start, this.pos)
  }

  fixed(n: number): Buffer {
    if (n > this.left) throw new AvroError('message ends inside a fixed value')
    const out = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }

  // a block count of a map or array; a negative count is followed by the block's byte size
  blockCount(): number {
    const n = this.long()
    if (n >= 0) return n
    this.long()
    return -n
  }

  // skips a map<bytes> (call metadata, handshake meta)
  skipBytesMap(): void {
    for (let n = this.blockCount(); n > 0; n = this.blockCount()) {
      for (let i = 0; i < n; i++) {
        this.span()
        this.span()
      }
    }
  }
}

// zig-zag varint of a non-negative or negative integer into out at at; returns the new offset
export const writeLong = (out: Buffer, at: number, value: number): number => {
  let n = value >= 0 ? value * 2 : -value * 2 - 1
  while (n >= 0x80) {
    out[at++] = (n % 128) | 0x80
    n = Math.floor(n / 128)
  }
  out[at++] = n
  return at
}

// the bytes of a varint on their own (cold paths: handshakes, names)
export const longBytes = (value: number): Buffer => {
  const b = Buffer.allocUnsafe(10)
  return b.subarray(0, writeLong(b, 0, value))
}

export const stringBytes = (s: string | Buffer): Buffer => {
  const data = typeof s === 'string' ? Buffer.from(s, 'utf8') : s
  return Buffer.concat([longBytes(data.length), data])
}
