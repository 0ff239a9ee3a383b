import { closeSync, fstatSync, ftruncateSync, fsyncSync, openSync, readSync } from 'node:fs'
import { warn } from '../core/log.js'
import { checkRecord, HEADER, resync } from './record.js'
import { quarantine } from './quarantine.js'
import { segmentPath } from './segments.js'

// Start-up of the writer: only the active (last) segment is scanned, so start-up time depends on
// the size of one segment, never on the history or the backlog. A torn last record (power loss,
// kill -9 inside a write) is copied to quarantine and cut off; a corrupt record in the middle is
// copied to quarantine and left in place (readers skip it the same way).

export interface Recovered {
  size: number // valid bytes: the writer appends here
  nextIndex: number
  records: number
  quarantined: number // events lost to corruption (their bytes are in quarantine/)
}

const CHUNK = 4 * 1024 * 1024

export const readAt = (fd: number, pos: number, length: number): Buffer => {
  const buf = Buffer.allocUnsafe(length)
  let got = 0
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, pos + got)
    if (n === 0) break
    got += n
  }
  return got === length ? buf : buf.subarray(0, got)
}

export const recoverSegment = (dir: string, base: number): Recovered => {
  const path = segmentPath(dir, base)
  const fd = openSync(path, 'r+')
  try {
    const fileSize = fstatSync(fd).size
    let pos = 0
    let nextIndex = base
    let records = 0
    let quarantined = 0
    let want = CHUNK
    while (pos < fileSize) {
      const buf = readAt(fd, pos, Math.min(want, fileSize - pos))
      want = CHUNK
      let at = 0
      let corrupt = false
      while (at < buf.length) {
        const check = checkRecord(buf, at, buf.length)
        if (check.kind === 'ok') {
          nextIndex = check.record.index + 1
          records++
          at = check.record.end
          continue
        }
        if (check.kind === 'partial' && pos + at + check.need <= fileSize) {
          if (at === 0) want = check.need // one record longer than the chunk: read it whole
          break
        }
        corrupt = true // a partial record at the end of the file is a torn one: same handling
        break
      }
      if (!corrupt) {
        pos += at
        continue
      }
      pos += at
      // rare path: look for the next good record in the rest of the file
      const rest = readAt(fd, pos, fileSize - pos)
      const next = resync(rest, 0, rest.length)
      if (next === -1) {
        const where = quarantine(dir, base, pos, rest)
        warn(`${path}: cut off a torn or corrupt last record at byte ${pos} (${rest.length} bytes, kept in ${where})`)
        ftruncateSync(fd, pos)
        fsyncSync(fd)
        break
      }
      const after = checkRecord(rest, next, rest.length)
      const lost = after.kind === 'ok' ? after.record.index - nextIndex : 0
      quarantined += Math.max(lost, 1)
      const where = quarantine(dir, base, pos, rest.subarray(0, next))
      warn(`${path}: corrupt record at byte ${pos}: ${Math.max(lost, 1)} event(s) skipped, bytes kept in ${where}`)
      pos += next
    }
    return { size: Math.min(pos, fstatSync(fd).size), nextIndex, records, quarantined }
  } finally {
    closeSync(fd)
  }
}

// The index after the last whole record of a segment, walking record lengths (no checksums).
export const endIndex = (dir: string, base: number): number => {
  let fd: number
  try {
    fd = openSync(segmentPath(dir, base), 'r')
  } catch {
    return base
  }
  try {
    const size = fstatSync(fd).size
    let pos = 0
    let next = base
    while (pos + HEADER <= size) {
      const buf = readAt(fd, pos, Math.min(4 * 1024 * 1024, size - pos))
      let at = 0
      while (at + HEADER <= buf.length) {
        const n = buf.readUInt32LE(at)
        if (at + HEADER + n + 1 > buf.length) break
        next = buf.readUIntLE(at + 8, 6) + 1
        at += HEADER + n + 1
      }
      if (at === 0) {
        const n = buf.readUInt32LE(0)
        if (pos + HEADER + n + 1 > size) break // torn tail
        next = buf.readUIntLE(8, 6) + 1
        at = HEADER + n + 1
      }
      pos += at
    }
    return next
  } finally {
    closeSync(fd)
  }
}

