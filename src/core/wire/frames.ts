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

// Reassembles frames from socket chunks. Holds at most one partial frame, never more than
// maxFrame payload bytes: a larger length is refused before anything is buffered.
export class FrameDecoder {
  private parts: Buffer[] = []
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
    if (this.have) {
      this.parts.push(chunk)
      this.have += chunk.length
      // a big frame arrives in many chunks: join them once, when it is complete
      if (this.need && this.have < this.need) return
      chunk = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.have)
      this.parts = []
      this.have = 0
      this.need = 0
    }
    let at = 0
    while (chunk.length - at >= FRAME_HEADER) {
      const type = chunk[at]!
      if (type !== FrameType.batch && type !== FrameType.ack && type !== FrameType.error && type !== FrameType.report) {
        throw new FrameError(`not a tsf frame (type byte 0x${type.toString(16).padStart(2, '0')})`)
      }
      const length = chunk.readUInt32BE(at + 10)
      if (length > this.maxFrame) throw new FrameError(`frame of ${length} bytes exceeds the limit of ${this.maxFrame}`)
      const end = at + FRAME_HEADER + length
      if (chunk.length < end + this.tail) break
      const payload = chunk.subarray(at + FRAME_HEADER, end)
      if (this.mac && !this.mac.check(chunk.subarray(at, at + FRAME_HEADER), payload, chunk.subarray(end, end + this.tail))) {
        throw new FrameError('a frame failed its MAC check (changed on the way, or not from the peer that proved the token)')
      }
      onFrame({ type, flags: chunk[at + 1]!, id: chunk.readUInt32BE(at + 2), count: chunk.readUInt32BE(at + 6), payload })
      at = end + this.tail
    }
    if (at < chunk.length) {
      const rest = chunk.subarray(at)
      if (rest.length >= FRAME_HEADER) {
        const length = rest.readUInt32BE(10)
        if (length > this.maxFrame) throw new FrameError(`frame of ${length} bytes exceeds the limit of ${this.maxFrame}`)
        this.need = FRAME_HEADER + length + this.tail
      }
      this.parts.push(rest)
      this.have = rest.length
    }
  }
}
