import type { EventHead } from '../core/event.js'
import { Chain } from './chain.js'
import { staticHeader } from './steps.js'

// -H K=V on collect, ship and channel: Flume's static interceptor on the events passing a stage
// (a value the event has already is kept, like preserveExisting). Rewrites the heads in place.
// undefined without headers, so a stage without -H pays nothing.
export type HeadRewrite = (heads: EventHead[]) => void

export const staticHeaders = (headers: Record<string, string> | undefined): HeadRewrite | undefined => {
  const entries = Object.entries(headers ?? {})
  if (!entries.length) return undefined
  const chain = new Chain(entries.map(([k, v]) => staticHeader(`${k}=${v}`)))
  return (heads) => {
    for (let i = 0; i < heads.length; i++) heads[i] = chain.apply(heads[i]!)!
  }
}
