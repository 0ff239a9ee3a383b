import type { EventHead } from '../../core/event.js'

// Where collect puts what it receives: the ack-linked stdout (EventOutput) or the console (--print).
// onDurable runs once the events are safe downstream; only then is the sender acked.
export interface EventSink {
  write(heads: EventHead[], onDurable?: () => void): void
  ready(): Promise<void>
  end(timeout: number, signal?: AbortSignal): Promise<number>
}
