import type { EventEmitter } from 'node:events'
import { setTimeout as delay } from 'node:timers/promises'

// The small async helpers every stage shares: one place, so that no file writes its own sleep.

// Resolves on the next `event` of `emitter` or after `ms`, whichever comes first; the listener and
// the timer go either way (a loop of such waits leaks nothing: no MaxListenersExceededWarning).
export const eventOrTimeout = (emitter: EventEmitter, event: string, ms: number): Promise<void> =>
  new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer)
      emitter.off(event, done)
      resolve()
    }
    const timer = setTimeout(done, ms)
    emitter.on(event, done)
  })

// Waits ms, or less when the signal aborts; never rejects (the caller checks what stopped it).
export const pause = async (ms: number, signal?: AbortSignal): Promise<void> => {
  if (signal?.aborted) return
  try {
    await delay(ms, undefined, signal ? { signal } : undefined)
  } catch (error) {
    if (!signal?.aborted) throw error
  }
}

// Wakes whoever waits for a state to change (typed, unlike an emitter's string events): waiters
// re-check what they wait for, so one kind of wake-up serves them all.
export class Changes {
  private readonly waiters = new Set<() => void>()

  // Resolves on the next changed(), or after ms when given; the timer goes either way.
  next(ms?: number): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined
      const done = (): void => {
        clearTimeout(timer)
        this.waiters.delete(done)
        resolve()
      }
      if (ms !== undefined) timer = setTimeout(done, ms)
      this.waiters.add(done)
    })
  }

  changed(): void {
    // (called per ack on ship's path: nothing to copy when nobody waits)
    if (this.waiters.size === 0) return
    for (const done of [...this.waiters]) done()
  }
}
