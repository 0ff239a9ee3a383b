import { readSync } from 'node:fs'
import { basename } from 'node:path'
import { encodeEnvelope, sourceEventHead, type EventHead } from '../../core/event.js'
import { CONT, LineFramer, TRUNCATED, type BlockSink, type LineSink } from '../../core/lines.js'
import { blockRegion } from '../file/block-lines.js'
import type { SpoolEntry } from './state.js'

// Reads one adopted file from its checkpoint to its end and turns its lines into event heads
// (src/seq of the file, pos = offset just past the line, headers file and basename).

export interface SpoolReadConfig {
  maxLine: number
  truncate: boolean
  host: string
  headers: Record<string, string>
}

export interface ReadResult {
  heads: EventHead[]
  // the offset just past the last of these heads, and its seq
  pos: number
  seq: number
}

export class SpoolFileReader {
  readPos: number
  private emitPos: number
  private emitSeq: number
  private heads: EventHead[] = []
  private now = 0
  private readonly framer: LineFramer
  private readonly envelope: string
  private readonly sink: LineSink
  private readonly maxLine: number

  constructor(
    readonly fd: number,
    readonly entry: SpoolEntry,
    config: SpoolReadConfig,
  ) {
    this.maxLine = config.maxLine
    this.readPos = this.emitPos = entry.pos
    this.emitSeq = entry.seq
    this.framer = new LineFramer(config.maxLine, config.truncate)
    this.envelope = encodeEnvelope({ host: config.host, headers: { ...config.headers, file: entry.path, basename: basename(entry.path) } })
    this.sink = (bytes, end, kind) => {
      this.heads.push(
        sourceEventHead(
          bytes,
          { ts: this.now, src: entry.src, seq: ++this.emitSeq, pos: end, cont: kind === CONT, truncated: kind === TRUNCATED },
          this.envelope,
        ),
      )
      this.emitPos = end
    }
  }

  get oversize(): number {
    return this.framer.oversize
  }

  // Reads up to `budget` bytes; `eof` at the file's size when it was adopted (what was appended
  // later is not this file any more: the engine quarantines it) or when a read returned nothing.
  read(buf: Buffer, budget: number): ReadResult & { eof: boolean } {
    this.now = Date.now()
    let left = Math.min(budget, this.entry.size - this.readPos)
    let eof = left <= 0
    while (left > 0) {
      const n = readSync(this.fd, buf, 0, Math.min(buf.length, left), this.readPos)
      if (n === 0) {
        eof = true
        break
      }
      this.frame(buf.subarray(0, n))
      this.readPos += n
      left -= n
      if (this.readPos >= this.entry.size) eof = true
    }
    return { ...this.take(), eof }
  }

  // Frames a chunk read at readPos (LineFramer.pushBlocks, as tail does).
  private frame(chunk: Buffer): void {
    this.framer.pushBlocks(chunk, this.readPos, this.sink, this.block)
  }

  private readonly block: BlockSink = (region, at) =>
    blockRegion(region, this.maxLine, (lines, escaped) => this.emitBlock(lines, escaped, at))

  // Complete ASCII lines, already escaped, the first starting at offset `at`: the parts that are
  // the same for the whole block are built once (this loop is most of spool's CPU).
  private emitBlock(lines: string[], escaped: string[], at: number): void {
    const heads = this.heads
    const mid = `","ts":${this.now}${this.envelope},"src":"${this.entry.src}","seq":`
    let pos = at
    let seq = this.emitSeq
    for (let i = 0; i < lines.length; i++) {
      pos += lines[i]!.length + 1
      heads.push('{"body":"' + escaped[i]! + mid + ++seq + ',"pos":' + pos)
    }
    this.emitSeq = seq
    this.emitPos = pos
  }

  // At the end of the file: its unterminated last line is an event too (the file is complete).
  finish(): ReadResult {
    this.now = Date.now()
    this.framer.flush(this.readPos, this.sink)
    return this.take()
  }

  private take(): ReadResult {
    const heads = this.heads
    this.heads = []
    return { heads, pos: this.emitPos, seq: this.emitSeq }
  }
}
