import type { Readable } from 'node:stream'
import { sourceEventHead, type EventHead } from '../../core/event.js'
import type { EventOutput } from '../../core/link/writer.js'
import { CONT, LineFramer, TRUNCATED } from '../../core/lines.js'

// One output stream of the child (stdout or stderr) to events. Reading waits for the output to
// have room, so a slow downstream fills the pipe and the child blocks on write: nothing dropped.

export interface StreamConfig {
  maxLine: number
  truncate: boolean
  // the constant ,"host":...,"headers":{...} of this stream's events
  envelope: string
}

export interface Sequence {
  src: string
  seq: number
}

export interface PumpHooks {
  // how long to wait for room: resolves false when reading should give up (shutdown deadline)
  ready: () => Promise<boolean>
  written: (n: number) => void
  durable: (n: number) => void
  oversize: () => void
  // a chunk of output arrived
  seen: () => void
}

export const pumpLines = async (
  stream: Readable,
  config: StreamConfig,
  seq: Sequence,
  out: EventOutput,
  hooks: PumpHooks,
): Promise<void> => {
  const framer = new LineFramer(config.maxLine, config.truncate, hooks.oversize)
  let heads: EventHead[] = []
  let ts = 0
  const sink = (bytes: Buffer, _end: number, kind: number): void => {
    heads.push(
      sourceEventHead(bytes, { ts, src: seq.src, seq: ++seq.seq, cont: kind === CONT, truncated: kind === TRUNCATED }, config.envelope),
    )
  }
  const emit = (): void => {
    const n = heads.length
    if (n === 0) return
    hooks.written(n)
    out.write(heads, () => hooks.durable(n))
    heads = []
  }
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hooks.seen()
    ts = Date.now()
    framer.push(chunk, 0, sink)
    emit()
    if (!(await hooks.ready())) {
      stream.destroy()
      return
    }
  }
  // the child closed its output: an unterminated last line is an event too
  ts = Date.now()
  framer.flush(0, sink)
  emit()
}
