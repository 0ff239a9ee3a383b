import type { LineFramer, LineSink } from '../../core/lines.js'

// The framing step tail and spool share: the complete lines of a chunk read at file offset `at`
// go, where they can, to the source's block path as one region (ascii-block.ts, block-lines.ts:
// a few native calls for the whole region), and only what it leaves, the line the chunk completes
// and the partial line it ends with go through the framer. The events are the same either way (a
// test holds the block paths to sourceEventHead()).

// region: complete lines, each with its newline, the first starting at file offset `at`; returns
// how many bytes of it (whole lines) became events; the framer takes the rest
export type BlockSink = (region: Buffer, at: number) => number

export const frameChunk = (framer: LineFramer, chunk: Buffer, at: number, sink: LineSink, block?: BlockSink): void => {
  if (!block || !framer.ordinary) return framer.push(chunk, at, sink)
  let start = 0
  if (framer.buffered) {
    const first = chunk.indexOf(10)
    if (first === -1) return framer.push(chunk, at, sink)
    start = first + 1
    framer.push(chunk.subarray(0, start), at, sink)
  }
  const last = chunk.lastIndexOf(10)
  if (last >= start) start += block(chunk.subarray(start, last + 1), at + start)
  if (start < chunk.length) framer.push(chunk.subarray(start), at + start, sink)
}
