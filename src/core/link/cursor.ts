import { randomBytes } from 'node:crypto'
import { eventHeadFromObject, plainLineHead, tryParseEvent, type EventHead } from '../event.js'

// The ack-link cursor carried by every event a tsf command writes to stdout (docs/protocol.md):
//   "_ack":"<link>.<nonce>.<position>"
// <link> names the writer's abstract Unix socket (@tsf-link.<link>), <nonce> proves the reader saw
// the stream (the socket name is visible in /proc/net/unix, the nonce is not), <position> counts
// the writer's events. The field is always written last, so a stage can find and replace it by
// looking at the end of the line, without parsing the event.

export const ACK_KEY = ',"_ack":"'
const ACK_KEY_BYTES = Buffer.from(ACK_KEY)
const ACK_NAME = Buffer.from('"_ack"')
export const socketPath = (link: string): string => `\0tsf-link.${link}`

// A tsf reader of a pipe announces itself on this name, so the writer of that pipe knows early
// that acks will come (docs/protocol.md: a pipe read by a tsf command never checkpoints past acks).
export const readerAnnouncePath = (pipeInode: number): string => `\0tsf-reader.${pipeInode}`

export const newLinkId = (): string => randomBytes(12).toString('base64url')

export interface Cursor {
  link: string
  nonce: string
  position: number
}

export const cursorPattern = /^([A-Za-z0-9_-]{8,64})\.([A-Za-z0-9_-]{8,64})\.(\d{1,15})$/

export const parseCursor = (text: string): Cursor | undefined => {
  const m = cursorPattern.exec(text)
  return m ? { link: m[1]!, nonce: m[2]!, position: Number(m[3]) } : undefined
}

export interface ClassifiedLine {
  // the event without its cursor and closing brace: an event head ready for the next writer
  head: EventHead
  cursor?: string
}

// Turns one input line (no newline) of unknown origin into an event head and its cursor, if it
// has one. Every head it returns is valid JSON once closed: a line is an event only if it parses
// as a JSON object with a string body (a line that merely looks like {…}, such as {,"_ack":…},
// is text). A valid event whose last field is its cursor keeps its own bytes (the cursor cut off
// by position); one whose cursor a filter moved (jq) is re-encoded without it. Everything else
// (plain text, broken JSON, non-event JSON) becomes the body of an event: nothing is dropped for
// its shape. Lines straight from a linked tsf writer take EventInput's fast path instead.
export const classifyLine = (line: Buffer, flags?: { cont?: boolean; truncated?: boolean }): ClassifiedLine => {
  const n = line.length
  if (flags?.cont || flags?.truncated || n < 2 || line[0] !== 0x7b || line[n - 1] !== 0x7d) {
    return { head: plainLineHead(line, flags) }
  }
  const event = tryParseEvent(line.toString('utf8'))
  if (!event) return { head: plainLineHead(line) }
  // an event without a cursor (a capture, roll --format json output) keeps its own bytes
  if (event._ack === undefined) return { head: line.subarray(0, n - 1) }
  const cursor = typeof event._ack === 'string' && cursorPattern.test(event._ack) ? event._ack : undefined
  if (cursor !== undefined && line[n - 2] === 0x22) {
    // in valid JSON the text ,"_ack":" can only be a key of the top-level object: if the line
    // ends with it and holds no other "_ack" (a second key), it is the last field and cutting it
    // leaves valid JSON
    const at = line.lastIndexOf(ACK_KEY_BYTES, n - 3)
    if (at > 0 && at + ACK_KEY_BYTES.length + cursor.length === n - 2 && line.lastIndexOf(ACK_NAME, at) === -1) {
      return { head: line.subarray(0, at), cursor }
    }
  }
  const head = eventHeadFromObject(event)
  // nested too deep to serialise again: the line is kept whole as the body of an event
  return { head: head ?? plainLineHead(line), cursor }
}

// The cursor of a line as its writer wrote it ("_ack" last): for a line the caller already knows
// to be a tsf writer's own (EventInput's direct links), no parsing and no validation.
export const ACK_KEY_LENGTH = ACK_KEY_BYTES.length
export const ackKeyBytes = ACK_KEY_BYTES
