import type { Heads } from './head-block.js'

// Where collect puts what it receives: the ack-linked stdout (EventOutput) or the console (--print).
// onDurable runs once the events are safe downstream; only then is the sender acked. A HeadBlock
// is rendered during write() (the syslog listener reuses it for its next read).
export interface EventSink {
  write(heads: Heads, onDurable?: () => void): void
  ready(): Promise<void>
  // the downstream is a whole window behind (what ready() waits for): a source that can refuse
  // a batch without losing it (Flume's FAILED, as for a full channel) refuses it
  readonly full?: boolean
  end(timeout: number, signal?: AbortSignal): Promise<number>
}
