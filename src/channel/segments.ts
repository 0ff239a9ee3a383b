import { readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { TsfError } from '../core/errors.js'

// Segment files are named by the index of their first record: 00000000000000012345.seg. The one
// with the highest index is the active segment (the writer appends to it); every other one is
// sealed and never changes again. The active segment is never deleted, so the next index can
// always be found from the files alone.

export const SEGMENT_SUFFIX = '.seg'
const segmentPattern = /^(\d{20})\.seg$/

export const segmentName = (base: number): string => `${String(base).padStart(20, '0')}${SEGMENT_SUFFIX}`
export const segmentPath = (dir: string, base: number): string => join(dir, segmentName(base))

// The bases of the segments in dir, oldest first.
export const listSegments = (dir: string): number[] => {
  const bases: number[] = []
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const m = segmentPattern.exec(entry.name)
    if (!m) continue
    // something else under a segment's name: refuse rather than guess what it holds
    if (!entry.isFile())
      throw new TsfError(`${join(dir, entry.name)}: not a regular file, where a segment of the channel should be: move it away`)
    bases.push(Number(m[1]))
  }
  return bases.sort((a, b) => a - b)
}

export const segmentSize = (dir: string, base: number): number => {
  try {
    return statSync(segmentPath(dir, base)).size
  } catch {
    return 0 // deleted meanwhile
  }
}

export const readersDir = (dir: string): string => join(dir, 'readers')
export const quarantineDir = (dir: string): string => join(dir, 'quarantine')
