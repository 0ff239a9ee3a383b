import type { EventHead } from '../core/event.js'
import { EventView } from './event-view.js'
import type { Step } from './steps.js'

// The steps of a filter in the order given: each event runs through them until one drops it.
export class Chain {
  kept = 0
  dropped = 0

  constructor(readonly steps: Step[]) {}

  // The head to forward, or undefined when a step dropped the event.
  apply(head: EventHead): EventHead | undefined {
    const event = new EventView(head)
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
