import type { EventHead } from '../../core/event.js'
import type { InputBatch } from '../../core/link/reader.js'
import type { DocumentProblem, DocumentWrite } from './documents.js'

// The events ship holds for MongoDB, in input order, and how they are cut into sends.

// An input batch: acked upstream once each of its events is written or set aside. Its events
// stay heads (bytes) until a send takes them, so what is held waiting is the input's own size.
export interface Item {
  batch: InputBatch
  next: number
  left: number
  // converted, but held back (by a write in flight to the same document, or a full send)
  peeked?: DocumentWrite
}

export interface Pending {
  write: DocumentWrite
  item: Item
}

export interface Refused {
  problem: DocumentProblem
  item: Item
}

export interface SendLimits {
  batchEvents: number
  batchBytes: number
}

export class SendQueue {
  private readonly items: Item[] = []
  // upserts and replaces being written: a later write to the same document waits for them
  private readonly inflightKeys = new Set<string>()
  bytes = 0
  events = 0

  constructor(
    private readonly convert: (head: EventHead) => DocumentWrite | DocumentProblem,
    private readonly limits: SendLimits,
  ) {}

  push(batch: InputBatch): void {
    this.items.push({ batch, next: 0, left: batch.heads.length })
    for (const head of batch.heads) this.bytes += head.length
    this.events += batch.heads.length
  }

  // The next send: events in input order, converted now, up to the limits, stopping before a
  // write to a document that an earlier send (or this one) is still writing, so writes to one
  // _id apply in input order. Events that cannot be written go along, to be set aside.
  take(): { taken: Pending[]; unwritable: Refused[] } {
    const taken: Pending[] = []
    const unwritable: Refused[] = []
    let bytes = 0
    while (this.items.length) {
      const item = this.items[0]!
      const heads = item.batch.heads
      while (item.next < heads.length) {
        if (taken.length + unwritable.length >= this.limits.batchEvents) return { taken, unwritable }
        const converted = item.peeked ?? this.convert(heads[item.next]!)
        item.peeked = undefined
        if ('model' in converted) {
          const blocked = converted.key !== undefined && this.inflightKeys.has(converted.key)
          if (blocked || (taken.length && bytes + converted.bytes > this.limits.batchBytes)) {
            item.peeked = converted
            return { taken, unwritable }
          }
          if (converted.key) this.inflightKeys.add(converted.key)
          taken.push({ write: converted, item })
          bytes += converted.bytes
        } else unwritable.push({ problem: converted, item })
        this.bytes -= heads[item.next]!.length
        this.events--
        item.next++
      }
      this.items.shift()
    }
    return { taken, unwritable }
  }

  // A send is over: later writes to its documents may go.
  release(taken: Pending[]): void {
    for (const p of taken) if (p.write.key) this.inflightKeys.delete(p.write.key)
  }
}
