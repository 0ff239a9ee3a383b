import { randomBytes } from 'node:crypto'
import { eventHeadFromObject, plainLineHead, tryParseEvent, type EventHead } from '../event.js'

// The ack-link cursor carried by every event a tsf command writes to stdout (DESIGN.md §2):
//   "_ack":"<link>.<nonce>.<position>"
// <link> names the writer's abstract Unix socket (@tsf-link.<link>), <nonce> proves the reader saw
// the stream (the socket name is visible in /proc/net/unix, the nonce is not), <position> counts
// the writer's events. The field is always written last, so a stage can find and replace it by
// looking at the end of the line, without parsing the event.

export const ACK_KEY = ',"_ack":"'
const ACK_KEY_BYTES = Buffer.from(ACK_KEY)
export const socketPath = (link: string): string => `\0tsf-link.${link}`

// A tsf reader of a pipe announces itself on this name, so the writer of that pipe knows early
// that acks will come (DESIGN.md §2: a pipe read by a tsf command never checkpoints past acks).
export const readerAnnouncePath = (pipeInode: number): string => `\0tsf-reader.${pipeInode}`

export const newLinkId = (): string => randomBytes(12).toString('base64url')

export interface Cursor {
  link: string
  nonce: string
  position: number
}

const cursorPattern = /^([A-Za-z0-9_-]{8,64})\.([A-Za-z0-9_-]{8,64})\.(\d{1,15})$/

export const parseCursor = (text: string): Cursor | undefined => {
  const m = cursorPattern.exec(text)
  return m ? { link: m[1]!, nonce: m[2]!, position: Number(m[3]) } : undefined
}

export interface ClassifiedLine {
  // the event without its cursor and closing brace: an event head ready for the next writer
  head: EventHead
  cursor?: string
}

const BODY_START = Buffer.from('{"body":')

// Turns one input line (no newline) into an event head and its cursor, if it has one.
// Fast path, no parsing: a line written by a tsf writer starts with {"body": and ends with its
// cursor. Slow path: any other JSON object with a string body is parsed and re-encoded without its
// cursor. Everything else (plain text, broken JSON, non-event JSON) becomes the body of an event.
export const classifyLine = (line: Buffer, flags?: { cont?: boolean; truncated?: boolean }): ClassifiedLine => {
  const n = line.length
  if (flags?.cont || flags?.truncated || n < 2 || line[0] !== 0x7b || line[n - 1] !== 0x7d) {
    return { head: plainLineHead(line, flags) }
  }
  if (line[n - 2] === 0x22 && line.compare(BODY_START, 0, BODY_START.length, 0, BODY_START.length) === 0) {
    const at = line.lastIndexOf(ACK_KEY_BYTES, n - 3)
    if (at > 0) {
      const cursor = line.toString('latin1', at + ACK_KEY_BYTES.length, n - 2)
      if (cursorPattern.test(cursor)) return { head: line.subarray(0, at), cursor }
    }
  }
  const event = tryParseEvent(line.toString('utf8'))
  if (!event) return { head: plainLineHead(line) }
  // an event without a cursor (a capture, roll --format json output) keeps its own bytes
  if (event._ack === undefined) return { head: line.subarray(0, n - 1) }
  const cursor = typeof event._ack === 'string' && cursorPattern.test(event._ack) ? event._ack : undefined
  return { head: eventHeadFromObject(event), cursor }
}
