import { createHmac, timingSafeEqual } from 'node:crypto'
import { WIRE_VERSION } from './handshake.js'

// Frame authentication (docs/wire-protocol.md §2, docs/security.md). With a token, every frame after
// the handshake, of any type, is followed by a 32-byte tag:
//   HMAC-SHA256(key, counter (uint64 BE) | 14-byte header | payload)
// The key is derived from the token and both handshake nonces, one per direction, so a tag is good
// for one connection and one direction only. The counter is the frame's number in its direction
// (0, 1, 2 …, never sent): a relay can neither rewrite, reorder, replay, drop nor insert a frame
// without the next tag failing.
export const MAC_NAME = 'hmac-sha256'
export const MAC_LENGTH = 32

export type Direction = 'client' | 'server'

const frameKey = (token: Buffer, from: Direction, cn: string, sn: string): Buffer =>
  createHmac('sha256', token).update(`tsf/${WIRE_VERSION} frames from ${from} ${cn} ${sn}`).digest()

// Tags the frames one side sends, or checks those it receives, in order.
export class FrameMac {
  private counter = 0
  private readonly seq = Buffer.alloc(8)
  private constructor(private readonly key: Buffer) {}

  static of(token: Buffer, from: Direction, cn: string, sn: string): FrameMac {
    return new FrameMac(frameKey(token, from, cn, sn))
  }

  // the tag of the next frame in this direction
  next(header: Buffer, payload: Buffer): Buffer {
    this.seq.writeUIntBE(this.counter++, 2, 6)
    return createHmac('sha256', this.key).update(this.seq).update(header).update(payload).digest()
  }

  // checks the tag of the next frame received; false means it was changed on the way
  check(header: Buffer, payload: Buffer, tag: Buffer): boolean {
    const want = this.next(header, payload)
    return tag.length === want.length && timingSafeEqual(tag, want)
  }
}
