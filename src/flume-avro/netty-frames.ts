// Avro's Netty framing (NettyTransportCodec): serial:int32be, count:int32be, then count buffers of
// length:int32be + bytes. Buffer boundaries mean nothing: the message is their concatenation, and
// empty buffers are legal (a Java answer has one where the handshake would be).

// buffers shorter than this are copied together (Avro's own are 8 KiB, or the rest of a message)
const SMALL = 1024

export class FrameError extends Error {
  override name = 'FrameError'
}

export interface NettyFrame {
  serial: number
  payload: Buffer
}

// Reassembles frames from TCP chunks. maxFrame bounds what one frame may hold (its buffers'
// lengths together), so a hostile length cannot make us buffer without limit.
export class NettyFrameDecoder {
  private chunks: Buffer[] = []
  private held = 0
  // the frame being read
  private serial = -1
  private count = 0
  private got = 0 // buffers of it read so far
  private parts: Buffer[] = []
  private size = 0
  // consecutive small buffers copied together: one object per buffer would let a frame of empty
  // or one-byte buffers (4-5 wire bytes each) hold 20 times its size in objects
  private small = Buffer.alloc(0)
  private smallLen = 0

  constructor(private readonly maxFrame: number) {}

  // bytes of an unfinished frame are waiting
  get partial(): boolean {
    return this.held > 0 || this.serial !== -1
  }

  // bytes held for frames not yet whole
  get buffered(): number {
    return this.held + this.size
  }

  push(chunk: Buffer, onFrame: (frame: NettyFrame) => void): void {
    if (chunk.length) {
      this.chunks.push(chunk)
      this.held += chunk.length
    }
    for (;;) {
      if (this.serial === -1) {
        if (this.held < 8) return
        const head = this.take(8)
        this.serial = head.readUInt32BE(0)
        this.count = head.readUInt32BE(4)
        // Java would wait for ever on a frame of no buffers, and allocate count × 8 bytes up front
        if (this.count === 0 || this.count * 4 > this.maxFrame) throw new FrameError(`a frame announces ${this.count} buffers`)
      }
      while (this.got < this.count) {
        if (this.held < 4) return
        const len = this.peekLength()
        if (len > this.maxFrame - this.size) throw new FrameError(`a frame larger than ${this.maxFrame} bytes`)
        if (this.held < 4 + len) return
        this.take(4)
        this.got++
        this.size += len
        if (len >= SMALL) {
          this.flushSmall()
          this.parts.push(this.take(len))
        } else if (len) this.addSmall(this.take(len))
      }
      this.flushSmall()
      const payload = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size)
      const serial = this.serial
      this.serial = -1
      this.got = 0
      this.parts = []
      this.size = 0
      onFrame({ serial, payload })
    }
  }

  private addSmall(b: Buffer): void {
    if (this.smallLen + b.length > this.small.length) {
      const grown = Buffer.allocUnsafe(Math.max(2 * this.small.length, this.smallLen + b.length, 256))
      this.small.copy(grown, 0, 0, this.smallLen)
      this.small = grown
    }
    b.copy(this.small, this.smallLen)
    this.smallLen += b.length
  }

  private flushSmall(): void {
    if (!this.smallLen) return
    this.parts.push(this.small.subarray(0, this.smallLen))
    this.small = Buffer.alloc(0)
    this.smallLen = 0
  }

  private peekLength(): number {
    const first = this.chunks[0]!
    if (first.length >= 4) return first.readUInt32BE(0)
    return Buffer.concat(this.chunks, 4).readUInt32BE(0)
  }

  // the next n held bytes: a view when one chunk holds them, else one copy
  private take(n: number): Buffer {
    this.held -= n
    const first = this.chunks[0]
    if (n === 0) return Buffer.alloc(0)
    if (first!.length > n) {
      this.chunks[0] = first!.subarray(n)
      return first!.subarray(0, n)
    }
    if (first!.length === n) {
      this.chunks.shift()
      return first!
    }
    const out = Buffer.allocUnsafe(n)
    let at = 0
    while (at < n) {
      const c = this.chunks[0]!
      const k = Math.min(c.length, n - at)
      c.copy(out, at, 0, k)
      at += k
      if (k === c.length) this.chunks.shift()
      else this.chunks[0] = c.subarray(k)
    }
    return out
  }
}

// One frame as the list of buffers to write in order (head and lengths interleaved with parts).
export const frameBuffers = (serial: number, parts: readonly Buffer[]): Buffer[] => {
  const out: Buffer[] = []
  const heads = Buffer.allocUnsafe(8 + 4 * parts.length)
  heads.writeUInt32BE(serial >>> 0, 0)
  heads.writeUInt32BE(parts.length, 4)
  let at = 8
  let from = 0
  for (const part of parts) {
    heads.writeUInt32BE(part.length, at)
    at += 4
    if (part.length === 0) continue
    out.push(heads.subarray(from, at), part)
    from = at
  }
  if (from < at) out.push(heads.subarray(from, at))
  return out
}

export const encodeFrame = (serial: number, parts: readonly Buffer[]): Buffer => Buffer.concat(frameBuffers(serial, parts))
