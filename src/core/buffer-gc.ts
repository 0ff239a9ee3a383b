import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

// A forwarding stage allocates its blocks as Buffers (external memory to V8) and makes almost no JS
// garbage, so V8 collects dead blocks only after external memory grew by its fixed limit (64 MiB):
// that, not data held, was most of such a stage's peak RSS. Counting what it allocated and asking
// for a collection every EVERY bytes keeps the dead blocks few; with a heap of ~10 MB a collection
// costs a few ms, a fraction of what the bytes cost to read.
const EVERY = 8 * 1024 * 1024

let collect: ((options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void) | undefined
let allocated = 0

const collector = (): typeof collect => {
  if (collect) return collect
  setFlagsFromString('--expose-gc')
  collect = runInNewContext('gc') as typeof collect
  return collect
}

// Count `bytes` of Buffer just allocated; collect once enough was.
export const allocatedBuffer = (bytes: number): void => {
  allocated += bytes
  if (allocated < EVERY) return
  allocated = 0
  collector()!()
}

// Buffers whose JS objects die young (a collector's socket reads, copied into frame blocks at
// once): V8 frees them at the next scavenge, but a busy stage's young generation fills only every
// ~16 MiB of reads, and until then they are RSS. A scavenge every YOUNG_EVERY bytes read costs
// what the live young objects cost to copy: called where a batch was just written downstream and
// its event views dropped, that is almost nothing.
const YOUNG_EVERY = 8 * 1024 * 1024
let youngAllocated = 0

export const allocatedYoungBuffer = (bytes: number): void => {
  youngAllocated += bytes
  if (youngAllocated < YOUNG_EVERY) return
  youngAllocated = 0
  collector()!({ type: 'minor' })
}
