import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, writeSync } from 'node:fs'
import { open, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { readersDir } from './segments.js'

// One durable read offset per named reader (like a Kafka consumer offset): the next record to
// deliver, as its index and its place in a segment file. Written to a temporary file, fsynced and
// renamed over the old one, so a crash leaves either the old or the new offset, never a torn one.
// Losing the latest update only means re-sending a few events.

export interface Offset {
  index: number // the next index to deliver
  segment: number // base of the segment holding it
  pos: number // byte position of that record in the segment
}

export const readerNamePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/

const offsetPath = (dir: string, name: string): string => join(readersDir(dir), `${name}.offset`)

export const loadOffset = (dir: string, name: string): Offset | undefined => {
  let text: string
  try {
    text = readFileSync(offsetPath(dir, name), 'utf8')
  } catch {
    return undefined
  }
  try {
    const o = JSON.parse(text) as Offset
    if ([o.index, o.segment, o.pos].every((v) => Number.isSafeInteger(v) && v >= 0)) return o
  } catch {
    // fall through
  }
  return undefined // unreadable: treated as "from the oldest record" (duplicates, never loss)
}

export const saveOffset = (dir: string, name: string, offset: Offset): void => {
  const path = offsetPath(dir, name)
  const tmp = `${path}.${process.pid}.tmp` // a writer may register a reader while it runs
  const fd = openSync(tmp, 'w')
  try {
    writeSync(fd, JSON.stringify(offset) + '\n')
    fsyncSync(fd)
  } finally {
    closeSync(fd)
  }
  renameSync(tmp, path)
}

// The same, off the event loop (the periodic saves of a running reader).
export const saveOffsetAsync = async (dir: string, name: string, offset: Offset): Promise<void> => {
  const path = offsetPath(dir, name)
  const tmp = `${path}.${process.pid}.tmp`
  const file = await open(tmp, 'w')
  try {
    await file.write(JSON.stringify(offset) + '\n')
    await file.sync()
  } finally {
    await file.close()
  }
  await rename(tmp, path)
}

// The names of every reader that registered on this dir.
export const listReaders = (dir: string): string[] => {
  try {
    return readdirSync(readersDir(dir))
      .filter((f) => f.endsWith('.offset'))
      .map((f) => f.slice(0, -'.offset'.length))
      .sort()
  } catch {
    return []
  }
}

export const ensureReadersDir = (dir: string): void => {
  mkdirSync(readersDir(dir), { recursive: true })
}

// Every registered reader's offset; a reader without a readable offset counts as at the start.
export const allOffsets = (dir: string): Map<string, Offset | undefined> => {
  const out = new Map<string, Offset | undefined>()
  for (const name of listReaders(dir)) out.set(name, loadOffset(dir, name))
  return out
}
