import { PerformanceObserver } from 'node:perf_hooks'
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8'

// V8 doubles a stage's young generation (up to 32 MiB of new space on 64-bit node) each time more
// bytes survived its scavenges than it holds, a sum that never resets but at a growth: in a long
// stream every stage reaches 16-32 MiB, and those pages stay resident (W1: 16 MiB of new space in
// each of the four stages at its peak RSS, 4 MiB idle). `--max-semi-space-size` would cap it but
// is read only when node starts (setFlagsFromString is too late; NODE_OPTIONS is the user's). The
// growth factor is read at each growth, so: factor 1 (no growth) once new space reached CAP, V8's
// 2 again when it shrank below (an idle spell), so a busy stage is never stuck small. 4 MiB (two
// 2 MiB semi-spaces) took 3-6 MB off each W1 stage's peak RSS against 8 MiB, within the CPU noise
// of alternated runs (BENCHMARKS.md, branch mem2); a factor of 1 from the start (1 MiB semi-spaces)
// cost 7-13%. The cap stops growth, it cannot shrink what node started with.
export const YOUNG_CAP = 4 * 1024 * 1024
const GROWTH = 2 // V8's default --semi-space-growth-factor

const newSpace = (): number => {
  for (const s of getHeapSpaceStatistics()) if (s.space_name === 'new_space') return s.space_size
  return 0
}

let observer: PerformanceObserver | undefined

// a user who sized the young generation (NODE_OPTIONS, node's own arguments) keeps their choice
const userSized = (): boolean =>
  /--(max-|min-)?semi-space-size|--semi-space-growth-factor/.test(`${process.env.NODE_OPTIONS ?? ''} ${process.execArgv.join(' ')}`)

export const capYoungGeneration = (cap = YOUNG_CAP): void => {
  if (observer || userSized()) return
  let capped = false
  const check = (): void => {
    const atCap = newSpace() >= cap
    if (atCap === capped) return
    capped = atCap
    setFlagsFromString(`--semi-space-growth-factor=${atCap ? 1 : GROWTH}`)
  }
  check()
  // new space grows or shrinks only in a collection: look after them (entries come once per turn of
  // the event loop; a growth needs a capacity's worth of survivors, more than a turn makes)
  observer = new PerformanceObserver(check)
  observer.observe({ entryTypes: ['gc'] })
}
