// Binary frames of the ship↔collect protocol (docs/wire-protocol.md), after the text handshake.
// Every frame has the same 14-byte header, so a reader needs no per-type logic to find the next one:
//   type (1 byte) | flags (1) | id (uint32 BE) | count (uint32 BE) | length (uint32 BE) | payload
//   'B' batch  client→server  id = batch id, count = events, payload = event lines ("...}\n"), gzip when flags & 1
//   'A' ack    server→client  id = the batch id now durable downstream; no payload
//   'E' error  either way     payload = one UTF-8 line saying why the sender is closing
//   'R' report client→server  payload = the agent's state as JSON, only when negotiated (report.ts)
//   with a token, a 32-byte MAC follows every payload (frame-mac.ts); length does not count it
import { MAC_LENGTH, type FrameMac } from './frame-mac.js'

export const FRAME_HEADER = 14
export const FrameType = { batch: 0x42, ack: 0x41, error: 0x45, report: 0x52 } as const
export const FLAG_GZIP = 1

export interface Frame {
  type: number
  flags: number
  id: number
  count: number
  payload: Buffer
  // the pooled block payload lies in, when the frame came in several reads (releaseFrame)
  block?: Buffer
}

export const encodeHeader = (type: number, flags: number, id: number, count: number, length: number): Buffer => {
  const h = Buffer.allocUnsafe(FRAME_HEADER)
  h[0] = type
  h[1] = flags
  h.writeUInt32BE(id >>> 0, 2)
  h.writeUInt32BE(count >>> 0, 6)
  h.writeUInt32BE(length >>> 0, 10)
  return h
}

const EMPTY = Buffer.alloc(0)

// A whole frame as the pieces to write: header, payload and, with a MAC, its tag. Every frame
// type goes through here, so every frame type is authenticated the same way.
export const framePieces = (header: Buffer, payload: Buffer, mac?: FrameMac): Buffer[] =>
  mac ? [header, payload, mac.next(header, payload)] : [header, payload]

export const ackFrame = (id: number, mac?: FrameMac): Buffer =>
  Buffer.concat(framePieces(encodeHeader(FrameType.ack, 0, id, 0, 0), EMPTY, mac))

export const errorFrame = (message: string, mac?: FrameMac): Buffer => {
  const payload = Buffer.from(message.replace(/\n/g, ' '))
  return Buffer.concat(framePieces(encodeHeader(FrameType.error, 0, 0, 0, payload.length), payload, mac))
}

export class FrameError extends Error {}

// Frames that arrive in several reads are copied into a block as they come. A block goes back to a
// small pool shared by every connection once its owner is done with the frame (releaseFrame): a
// fresh joined buffer per ~1 MiB batch waited its turn long enough to outlive young-generation
// collections, and a collector's RSS held tens of MB of them, dead, until a full one.
const ROUND = 256 * 1024 // block sizes for big frames: a batch a little larger than the last still fits
const POOLED_MAX = 2 * 1024 * 1024 // larger blocks (rare, up to --max-batch-size) are never kept
const POOL_MAX = 6 // about one busy sender's frames read ahead (collect's READ_AHEAD) and in hand
const pool: Buffer[] = []

const takeBlock = (need: number): Buffer => {
  for (let i = 0; i < pool.length; i++) {
    const b = pool[i]!
    if (b.length >= need) {
      pool[i] = pool[pool.length - 1]!
      pool.pop()
      return b
    }
  }
  return Buffer.allocUnsafe(need < ROUND ? need : Math.ceil(need / ROUND) * ROUND)
}

// Nothing refers to the frame's payload any more (its events were copied out): its block, if it
// has one, may take a later frame. Calling it for a frame still in use would corrupt that frame.
export const releaseFrame = (frame: Frame): void => {
  const block = frame.block
  if (!block) return
  frame.block = undefined
  if (block.length >= ROUND && block.length <= POOLED_MAX && pool.length < POOL_MAX) pool.push(block)
}

// Reassembles frames from socket chunks. Holds at most one partial frame, never more than
// maxFrame payload bytes: a larger length is refused before anything is buffered.
export class FrameDecoder {
  private head = Buffer.allocUnsafe(FRAME_HEADER) // the start of a frame whose header is not whole yet
  private block?: Buffer // the partial frame, once its header is whole
  private have = 0
  private need = 0 // total bytes of the partial frame, once its header is in
  private mac?: FrameMac
  private tail = 0 // MAC bytes after each payload
  constructor(private readonly maxFrame: number) {}

  // from now on every frame must carry a good tag (set right after the handshake)
  authenticate(mac: FrameMac): void {
    this.mac = mac
    this.tail = MAC_LENGTH
  }

  // bytes of a frame started but not complete (for read deadlines)
  get partial(): number {
    return this.have
  }

  push(chunk: Buffer, onFrame: (frame: Frame) => void): void {
    let at = 0
    if (this.have) {
      if (!this.block) {
        // the header first: a few bytes, kept in `head`
        const n = Math.min(FRAME_HEADER - this.have, chunk.length)
        chunk.copy(this.head, this.have, 0, n)
        this.have += n
        at = n
        if (this.have < FRAME_HEADER) return
        this.startBlock(this.head, 0)
      }
      const block = this.block!
      const n = Math.min(this.need - this.have, chunk.length - at)
      chunk.copy(block, this.have, at, at + n)
      this.have += n
      at += n
      if (this.have < this.need) return
      this.block = undefined
      this.have = 0
      this.need = 0
      this.frameAt(block, 0, onFrame, block)
    }
    while (chunk.length - at >= FRAME_HEADER) {
      this.checkHeader(chunk, at)
      const end = at + FRAME_HEADER + chunk.readUInt32BE(at + 10)
      if (chunk.length < end + this.tail) break
      at = this.frameAt(chunk, at, onFrame)
    }
    if (at < chunk.length) {
      if (chunk.length - at >= FRAME_HEADER) this.startBlock(chunk, at)
      this.have = chunk.copy(this.block ?? this.head, 0, at)
    }
  }

  private checkHeader(b: Buffer, at: number): void {
    const type = b[at]!
    if (type !== FrameType.batch && type !== FrameType.ack && type !== FrameType.error && type !== FrameType.report) {
      throw new FrameError(`not a tsf frame (type byte 0x${type.toString(16).padStart(2, '0')})`)
    }
    const length = b.readUInt32BE(at + 10)
    if (length > this.maxFrame) throw new FrameError(`frame of ${length} bytes exceeds the limit of ${this.maxFrame}`)
  }

  // A frame's header is whole at b[at]: checked, and a block for the whole frame taken.
  private startBlock(b: Buffer, at: number): void {
    this.checkHeader(b, at)
    this.need = FRAME_HEADER + b.readUInt32BE(at + 10) + this.tail
    this.block = takeBlock(this.need)
    if (b === this.head) this.head.copy(this.block, 0, 0, FRAME_HEADER)
  }

  // The whole frame at b[at] (header checked): its MAC checked, handed on; returns where it ends.
  private frameAt(b: Buffer, at: number, onFrame: (frame: Frame) => void, block?: Buffer): number {
    const end = at + FRAME_HEADER + b.readUInt32BE(at + 10)
    const payload = b.subarray(at + FRAME_HEADER, end)
    if (this.mac && !this.mac.check(b.subarray(at, at + FRAME_HEADER), payload, b.subarray(end, end + this.tail))) {
      if (block) releaseFrame({ block } as Frame)
      throw new FrameError('a frame failed its MAC check (changed on the way, or not from the peer that proved the token)')
    }
    onFrame({ type: b[at]!, flags: b[at + 1]!, id: b.readUInt32BE(at + 2), count: b.readUInt32BE(at + 6), payload, block })
    return end + this.tail
  }
}
