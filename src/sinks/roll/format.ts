import { gzip } from 'node:zlib'
import { promisify } from 'node:util'
import { bodyBytes, type EventHead, type TsfEvent } from '../../core/event.js'

// What one event becomes in a rolled file.
//   body — the original line (the exact bytes when they were not UTF-8: body64), one per event;
//          a piece the codec cut from an oversize line ("cont") gets no newline, so the pieces
//          join back into the original line, like Flume's TEXT serializer.
//   json — the whole event as the stage received it (its ack-link cursor was already cut off).
export type RollFormat = 'body' | 'json'

const NL = Buffer.from('\n')
const CLOSE = Buffer.from('}\n')

export const formatEvent = (format: RollFormat, head: EventHead, event: TsfEvent): Buffer[] => {
  if (format === 'json') return typeof head === 'string' ? [Buffer.from(head + '}\n')] : [head, CLOSE]
  const bytes = bodyBytes(event)
  return event.cont === true ? [bytes] : [bytes, NL]
}

export const defaultSuffix = (format: RollFormat): string => (format === 'json' ? '.ndjson' : '.log')

const gzipAsync = promisify(gzip)

// One gzip member per committed write: concatenated members are a valid gzip file (gunzip, zcat
// and every gzip library read them all), and a cut back to the last commit lands on a member
// boundary, so a crash never leaves an unreadable file.
export const encodeChunk = async (parts: Buffer[], bytes: number, compress: boolean): Promise<Buffer> => {
  const plain = parts.length === 1 ? parts[0]! : Buffer.concat(parts, bytes)
  return compress ? gzipAsync(plain, { level: 6 }) : plain
}
