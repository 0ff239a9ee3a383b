import type { EventHead } from '../core/event.js'
import { type Changes, EventView } from './event-view.js'
import type { Step } from './steps.js'

// A line longer than --max-line travels as pieces marked "cont" (docs/tail.md). Its first piece
// is judged by the steps and the others follow it: kept or dropped together, with the same
// headers, host and ts, so a route or a drop never splits a line. Runs are per stream (src),
// and a piece whose seq does not follow the one before starts over (the line was sent again).
interface Run {
  seq: number | undefined
  dropped: boolean
  changes: Changes
}

// The steps of a filter in the order given: each event runs through them until one drops it.
export class Chain {
  kept = 0
  dropped = 0
  private readonly runs = new Map<string, Run>()

  constructor(readonly steps: Step[]) {}

  // The head to forward, or undefined when a step dropped the event.
  apply(head: EventHead): EventHead | undefined {
    const event = new EventView(head)
    const cont = event.isContinued()
    if (!cont && this.runs.size === 0) return this.judge(event)
    const stream = event.field('src') ?? ''
    const seqText = event.raw('seq')
    const seq = seqText === undefined ? undefined : Number(seqText)
    const run = this.runs.get(stream)
    if (run && (run.seq === undefined || seq === undefined || seq === run.seq + 1)) {
      if (cont) run.seq = seq
      else this.runs.delete(stream)
      if (run.dropped) {
        this.dropped++
        return undefined
      }
      event.repeat(run.changes)
      this.kept++
      return event.render()
    }
    this.runs.delete(stream)
    const out = this.judge(event)
    if (cont) this.runs.set(stream, { seq, dropped: out === undefined, changes: event.changes() })
    return out
  }

  private judge(event: EventView): EventHead | undefined {
    for (const step of this.steps) {
      if (!step.apply(event)) {
        this.dropped++
        return undefined
      }
    }
    this.kept++
    return event.render()
  }

  // Runs a batch: the heads kept, in order.
  run(heads: EventHead[]): EventHead[] {
    const kept: EventHead[] = []
    for (const head of heads) {
      const out = this.apply(head)
      if (out !== undefined) kept.push(out)
    }
    return kept
  }

  get missed(): number {
    return this.steps.reduce((n, s) => n + (s.missed ?? 0), 0)
  }
}
