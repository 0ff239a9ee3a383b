import type { EventEmitter } from 'node:events'

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
