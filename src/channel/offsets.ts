import { closeSync, fsyncSync, openSync, readdirSync, readFileSync, renameSync, writeSync } from 'node:fs'
import { open, rename } from 'node:fs/promises'
import { join } from 'node:path'
import { crc32 } from './record.js'
import { readersDir } from './segments.js'
import { makeDirsSync } from '../core/make-dirs.js'

// One durable read offset per named reader (like a Kafka consumer offset): the next record to
// deliver, as its index and its place in a segment file. Written to a temporary file, fsynced and
// renamed over the old one, so a crash leaves either the old or the new offset, never a torn one.
// Losing the latest update only means re-sending a few events.
//
// The file is one JSON line {"index":..,"segment":..,"pos":..,"crc":..}, crc being the crc32 of
// the same line without it, so that a damaged digit cannot move a reader past events it never
// delivered. Files without "crc" (written before it existed) are read as they are.

export interface Offset {
  index: number // the next index to deliver
  segment: number // base of the segment holding it
  pos: number // byte position of that record in the segment
}

const offsetPath = (dir: string, name: string): string => join(readersDir(dir), `${name}.offset`)

export type LoadedOffset = { ok: true; offset: Offset } | { ok: false; path: string; why: string } | undefined

const bare = (o: Offset): string => `{"index":${o.index},"segment":${o.segment},"pos":${o.pos}}`
export const encodeOffset = (o: Offset): string => `${bare(o).slice(0, -1)},"crc":${crc32(Buffer.from(bare(o)))}}\n`

// A reader's offset file: its offset, or why it cannot be used (the caller says so and reads from
// the oldest record: duplicates, never loss), or undefined when there is none.
export const readOffset = (dir: string, name: string): LoadedOffset => {
  const path = offsetPath(dir, name)
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    return { ok: false, path, why: (error as NodeJS.ErrnoException).code ?? 'unreadable' }
  }
  let o: Record<string, unknown>
  try {
    o = JSON.parse(text) as Record<string, unknown>
  } catch {
    return { ok: false, path, why: text.length ? 'not JSON' : 'empty' }
  }
  if (!o || typeof o !== 'object' || Array.isArray(o)) return { ok: false, path, why: 'not an offset' }
  const keys = Object.keys(o).sort().join(',')
  if (keys !== 'crc,index,pos,segment' && keys !== 'index,pos,segment') return { ok: false, path, why: 'not an offset' }
  const offset = { index: o.index, segment: o.segment, pos: o.pos } as Offset
  if (![offset.index, offset.segment, offset.pos].every((v) => Number.isSafeInteger(v) && v >= 0))
    return { ok: false, path, why: 'not an offset' }
  if ('crc' in o && o.crc !== crc32(Buffer.from(bare(offset)))) return { ok: false, path, why: 'checksum mismatch' }
  return { ok: true, offset }
}

export const loadOffset = (dir: string, name: string): Offset | undefined => {
  const got = readOffset(dir, name)
  return got?.ok ? got.offset : undefined // unreadable: treated as "from the oldest record"
}

// `tmp` names the temporary file apart from that of a save still running off the loop (at exit).
export const saveOffset = (dir: string, name: string, offset: Offset, tmpTag = 'tmp'): void => {
  const path = offsetPath(dir, name)
  const tmp = `${path}.${process.pid}.${tmpTag}` // a writer may register a reader while it runs
  const fd = openSync(tmp, 'w')
  try {
    writeSync(fd, encodeOffset(offset))
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
    await file.write(encodeOffset(offset))
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
  makeDirsSync(readersDir(dir))
}

// Every registered reader's offset; a reader without a readable offset counts as at the start.
export const allOffsets = (dir: string): Map<string, Offset | undefined> => {
  const out = new Map<string, Offset | undefined>()
  for (const name of listReaders(dir)) out.set(name, loadOffset(dir, name))
  return out
}
