import { Chalk, type ChalkInstance } from 'chalk'
import { once } from 'node:events'
import { headStrings, isHeadBlock, type Heads } from '../core/head-block.js'
import { colourFor } from '../core/colour.js'
import { bodyBytes, parseEventLine, type TsfEvent } from '../core/event.js'

// --print: events for a human (Flume's logger sink): time, host, headers, body, one per line.
// Bytes that would upset a terminal (control characters, invalid UTF-8) are shown escaped.
// It is a final output: events count as delivered once written.

const escapes: Record<number, string> = { 9: '\\t', 10: '\\n', 13: '\\r', 92: '\\\\' }

// The body's exact bytes as printable text: valid UTF-8 stays, the rest becomes \xNN.
export const printable = (bytes: Buffer): string => {
  let out = ''
  const text = bytes.toString('utf8')
  // fast path: valid, printable text (no control characters, no U+FFFD from bad bytes)
  if (!/[\u0000-\u001f\u007f-\u009f\\\ufffd]/.test(text)) return text
  let i = 0
  while (i < bytes.length) {
    const b = bytes[i]!
    if (b < 0x20 || b === 0x7f || b === 92) {
      out += escapes[b] ?? `\\x${b.toString(16).padStart(2, '0')}`
      i++
      continue
    }
    if (b < 0x80) {
      out += String.fromCharCode(b)
      i++
      continue
    }
    const len = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1
    const ch = bytes.subarray(i, i + len).toString('utf8')
    if (len === 1 || ch.length === 0 || ch.includes('\ufffd') || /[\u0080-\u009f]/.test(ch)) {
      out += `\\x${b.toString(16).padStart(2, '0')}`
      i++
    } else {
      out += ch
      i += len
    }
  }
  return out
}

// A header value as text: a string as it is, any other JSON value as its JSON text. String(v) threw
// on an object whose toString is not a function ({"toString":1}) and overflowed the stack on deeply
// nested arrays: one such event from a sender crashed collect --print.
const valueText = (v: unknown): string => {
  if (typeof v === 'string') return v
  try {
    return JSON.stringify(v) ?? String(v)
  } catch {
    return '…' // nested too deep to write out
  }
}

const timeOf = (ts: unknown): string => (typeof ts === 'number' && Number.isFinite(ts) ? new Date(ts).toISOString() : '-')

export const formatEvent = (event: TsfEvent, c: ChalkInstance): string => {
  const headers = event.headers && typeof event.headers === 'object' ? Object.entries(event.headers) : []
  const h = headers.length
    ? ' ' + c.cyan(`{${headers.map(([k, v]) => `${printable(Buffer.from(k))}=${printable(Buffer.from(valueText(v)))}`).join(', ')}}`)
    : ''
  const flags = (event.cont ? ' ' + c.yellow('[cont]') : '') + (event.truncated ? ' ' + c.yellow('[truncated]') : '')
  return `${c.dim(timeOf(event.ts))} ${c.green(typeof event.host === 'string' ? printable(Buffer.from(event.host)) : '-')}${h}${flags} ${printable(bodyBytes(event))}\n`
}

export interface PrintSinkOptions {
  stream?: NodeJS.WritableStream & { writableNeedDrain?: boolean; isTTY?: boolean }
  colour?: boolean
}

export class PrintSink {
  private readonly out: NodeJS.WritableStream & { writableNeedDrain?: boolean; isTTY?: boolean }
  private readonly chalk: ChalkInstance
  private pending = 0
  private isClosed = false
  private onClosed!: () => void
  // resolves when stdout went away (`| head`): nothing more can be printed
  readonly closed = new Promise<void>((resolve) => (this.onClosed = resolve))

  constructor(options: PrintSinkOptions = {}) {
    this.out = options.stream ?? process.stdout
    const colour = options.colour ?? colourFor(this.out)
    this.chalk = new Chalk({ level: colour ? 1 : 0 })
    this.out.on('error', () => {
      this.isClosed = true
      this.onClosed()
    })
  }

  write(block: Heads, onDurable?: () => void): void {
    if (this.isClosed) return
    const heads = isHeadBlock(block) ? headStrings(block) : block
    let text = ''
    for (const head of heads) text += formatEvent(parseEventLine(head.toString() + '}'), this.chalk)
    this.pending += heads.length
    this.out.write(text, (error) => {
      this.pending -= heads.length
      if (!error) onDurable?.()
    })
  }

  // Waits for room in stdout. A reader that goes away meanwhile (`| head` exiting) ends the wait
  // with the stream's 'error', which is the close, not a failure: events.once would reject with it.
  async ready(): Promise<void> {
    if (this.isClosed || !this.out.writableNeedDrain) return
    await Promise.race([once(this.out, 'drain').catch(() => undefined), this.closed])
  }

  async end(): Promise<number> {
    return 0
  }
}
