import { closeSync, fstatSync, ftruncateSync, fsyncSync, openSync } from 'node:fs'
import { warn } from '../core/log.js'
import { readAt } from '../core/read-at.js'
import { BLOCK_HEADER, checkRecord, peekRecord, resync } from './record.js'
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
// what endIndex reads at a time: its records' headers are what it needs
const HEADERS = 64 * 1024

export interface Skipped {
  tail: boolean // nothing intact follows: the bad bytes run to the end of the file
  to: number // where the next intact record starts (not tail)
  lost: number // events in the bad bytes (not tail)
  nextIndex: number // the index of the record at `to` (not tail)
  bytes: Buffer // the bad bytes (tail: all of the rest)
}

// The one way past a bad record, shared by recovery and readers. At `pos` of a segment is a record
// that fails its checksum, or whose length field points past the end of the file: the next intact
// record can only start right after a newline (record.ts), so look for it in the rest of the file.
// If one is found, the bad bytes are copied to quarantine/ and said on stderr, and the caller goes
// on from there; if none, the caller decides (recovery cuts a torn tail, a reader of a sealed
// segment quarantines it, a reader of the active one waits for the writer to finish its write).
export const skipBad = (dir: string, base: number, fd: number, pos: number, fileSize: number, nextIndex: number): Skipped => {
  const rest = readAt(fd, pos, fileSize - pos)
  const next = resync(rest, 0, rest.length)
  if (next === -1) return { tail: true, to: fileSize, lost: 0, nextIndex, bytes: rest }
  const after = checkRecord(rest, next, rest.length)
  const resumeAt = after.kind === 'ok' ? after.record.index : nextIndex + 1
  const lost = Math.max(0, resumeAt - nextIndex)
  const where = quarantine(dir, base, pos, rest.subarray(0, next))
  warn(`${segmentPath(dir, base)}: corrupt record at byte ${pos}: ${lost} event(s) skipped, bytes kept in ${where}`)
  return { tail: false, to: pos + next, lost, nextIndex: Math.max(resumeAt, nextIndex), bytes: rest.subarray(0, next) }
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
          nextIndex = check.record.index + check.record.count
          records += check.record.count
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
      const bad = skipBad(dir, base, fd, pos, fileSize, nextIndex)
      if (bad.tail) {
        const where = quarantine(dir, base, pos, bad.bytes)
        warn(`${path}: cut off a torn or corrupt last record at byte ${pos} (${bad.bytes.length} bytes, kept in ${where})`)
        ftruncateSync(fd, pos)
        fsyncSync(fd)
        break
      }
      quarantined += bad.lost
      nextIndex = bad.nextIndex
      pos = bad.to
    }
    return { size: Math.min(pos, fstatSync(fd).size), nextIndex, records, quarantined }
  } finally {
    closeSync(fd)
  }
}

// The index after the last whole record of a segment, walking record headers (checksums only to
// get past a damaged record). Reads the headers, not the file: a record that ends past the chunk
// read is stepped over by its length (its bytes were never looked at anyway), and the read after
// it is small, so a segment of large blocks costs a few KiB per block (a whole read of a 64 MiB
// segment was most of a reader's start-up).
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
    let want = HEADERS
    while (pos < size) {
      const buf = readAt(fd, pos, Math.min(want, size - pos))
      let at = 0
      for (;;) {
        const r = peekRecord(buf, at)
        if (r.size > 0 && at + r.size <= buf.length) {
          next = r.next
          at += r.size
          continue
        }
        if (r.size > 0 && at + BLOCK_HEADER <= buf.length && pos + at + r.size <= size) {
          next = r.next // whole in the file: past it, and only a little read after it
          at += r.size
          break
        }
        if (at + BLOCK_HEADER > buf.length && pos + buf.length < size) {
          // a header cut by the chunk's end: read on from it
        } else if (r.size === 0 || pos + at + r.size > size) {
          const after = resync(buf, at, buf.length) // damaged: past it, if the chunk holds more
          if (after !== -1) {
            at = after
            continue
          }
        }
        break
      }
      if (at === 0) {
        if (want === CHUNK) break // nothing whole here: a torn or damaged tail
        want = CHUNK // look for the next record in a whole chunk, as recovery does
        continue
      }
      want = HEADERS
      pos += at
    }
    return next
  } finally {
    closeSync(fd)
  }
}
