import type { LineFramer, LineSink } from '../../core/lines.js'
import { blockLines } from './block-lines.js'

// The framing step tail and spool share: a chunk read at file offset `at` goes, where it can,
// as one block of complete ASCII lines (block-lines.ts: a few native calls for the whole block),
// and only the line it completes and the partial line it ends with go through the framer. The
// events are the same either way (a test holds the block path to sourceEventHead()).

// complete lines (as they are, and escaped for a JSON string), the first starting at offset `at`
export type BlockSink = (lines: string[], escaped: string[], at: number) => void

export const frameChunk = (framer: LineFramer, chunk: Buffer, at: number, maxLine: number, sink: LineSink, block?: BlockSink): void => {
  if (!block || !framer.ordinary) return framer.push(chunk, at, sink)
  let start = 0
  if (framer.buffered) {
    const first = chunk.indexOf(10)
    if (first === -1) return framer.push(chunk, at, sink)
    start = first + 1
    framer.push(chunk.subarray(0, start), at, sink)
  }
  const last = chunk.lastIndexOf(10)
  const lines = last > start ? blockLines(chunk.subarray(start, last), maxLine) : undefined
  if (!lines) return framer.push(chunk.subarray(start), at + start, sink)
  block(lines.lines, lines.escaped, at + start)
  if (last + 1 < chunk.length) framer.push(chunk.subarray(last + 1), at + last + 1, sink)
}
