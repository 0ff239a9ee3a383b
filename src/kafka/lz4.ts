// LZ4 frame decompression (the format of lz4's lz4_Frame_format.md), for record batches other
// producers compressed with compression.type=lz4: the Java client writes independent blocks
// (KafkaLZ4BlockOutputStream), librdkafka linked ones (matches may reach into earlier blocks), so
// the whole frame decodes into one buffer. Checksums are skipped: a record batch has its own CRC.
// Only decompression: tsf does not produce lz4 (docs/kafka.md says why).

const FRAME_MAGIC = 0x184d2204
const isSkippable = (magic: number): boolean => magic >= 0x184d2a50 && magic <= 0x184d2a5f

class Lz4Error extends Error {
  constructor(what: string) {
    super(`LZ4: ${what}`)
  }
}

// Output that grows as blocks decode; matches copy from what it already holds.
class Output {
  buf: Buffer
  length = 0
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(Math.max(size, 64))
  }
  room(n: number): void {
    if (this.length + n <= this.buf.length) return
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n))
    this.buf.copy(next, 0, 0, this.length)
    this.buf = next
  }
}

const decodeBlock = (src: Buffer, start: number, end: number, out: Output): void => {
  let ip = start
  const byte = (): number => {
    if (ip >= end) throw new Lz4Error('block ends early')
    return src[ip++]!
  }
  while (ip < end) {
    const token = src[ip++]!
    let literals = token >> 4
    if (literals === 15) for (let b = 255; b === 255; literals += b) b = byte()
    if (ip + literals > end) throw new Lz4Error('literals past the end of a block')
    out.room(literals)
    src.copy(out.buf, out.length, ip, ip + literals)
    out.length += literals
    ip += literals
    // the last sequence of a block has literals only
    if (ip >= end) break
    const offset = byte() | (byte() << 8)
    if (offset === 0 || offset > out.length) throw new Lz4Error(`match offset ${offset} outside the ${out.length} bytes decoded`)
    let match = token & 15
    if (match === 15) for (let b = 255; b === 255; match += b) b = byte()
    match += 4
    out.room(match)
    const buf = out.buf
    let from = out.length - offset
    let to = out.length
    if (offset >= match) {
      buf.copy(buf, to, from, from + match)
    } else {
      // overlapping: a repeat of the last `offset` bytes, byte by byte
      for (const stop = to + match; to < stop; ) buf[to++] = buf[from++]!
    }
    out.length += match
  }
}

export const lz4Decompress = (input: Buffer): Buffer => {
  const out = new Output(input.length * 4)
  let pos = 0
  const u32 = (at: number): number => {
    if (at + 4 > input.length) throw new Lz4Error('frame ends early')
    return input.readUInt32LE(at)
  }
  while (pos < input.length) {
    const magic = u32(pos)
    if (isSkippable(magic)) {
      pos += 8 + u32(pos + 4)
      continue
    }
    if (magic !== FRAME_MAGIC) throw new Lz4Error(`not an LZ4 frame (magic 0x${magic.toString(16)})`)
    const flg = input[pos + 4] ?? 0
    if (flg >> 6 !== 1) throw new Lz4Error(`frame version ${flg >> 6} (expected 1)`)
    const blockChecksums = (flg & 0x10) !== 0
    const contentSize = (flg & 0x08) !== 0
    const contentChecksum = (flg & 0x04) !== 0
    const dictionary = (flg & 0x01) !== 0
    if (dictionary) throw new Lz4Error('frames with a dictionary are not supported')
    // FLG, BD, optional content size, header checksum
    pos += 4 + 2 + (contentSize ? 8 : 0) + 1
    for (;;) {
      const size = u32(pos)
      pos += 4
      if (size === 0) break
      const length = size & 0x7fffffff
      if (pos + length > input.length) throw new Lz4Error('block past the end of the frame')
      if (size & 0x80000000) {
        out.room(length)
        input.copy(out.buf, out.length, pos, pos + length)
        out.length += length
      } else decodeBlock(input, pos, pos + length, out)
      pos += length + (blockChecksums ? 4 : 0)
    }
    if (contentChecksum) pos += 4
  }
  return out.buf.subarray(0, out.length)
}
