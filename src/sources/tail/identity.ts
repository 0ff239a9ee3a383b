import { createHash } from 'node:crypto'
import { readSync, type Stats } from 'node:fs'

// A file is found again by what it is, not by where it is: device + inode, plus a fingerprint of
// its first bytes (inodes are reused once a file is deleted). The fingerprint covers at most
// FINGERPRINT_BYTES, so it stops changing once the file is that long; until then it covers what
// the file held when we looked. The identity is only used to find a file again, never as a
// stream id (that is the src, which changes with each copytruncate generation).

export const FINGERPRINT_BYTES = 1024
// the bytes just before a checkpoint, to notice a file that was truncated and regrew past it
export const MARK_BYTES = 64

export interface FileIdentity {
  dev: number
  ino: number
  headLen: number
  headHash: string
}

export const hashBytes = (bytes: Buffer): string => createHash('sha1').update(bytes).digest('base64url')

// Reads up to `length` bytes at `position` (fewer at end of file).
export const readAt = (fd: number, position: number, length: number): Buffer => {
  const buf = Buffer.allocUnsafe(length)
  let got = 0
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got)
    if (n === 0) break
    got += n
  }
  return buf.subarray(0, got)
}

// The identity of an open file, its fingerprint taken over at most `upTo` bytes.
export const identify = (fd: number, st: Stats, upTo = FINGERPRINT_BYTES): FileIdentity => {
  const head = readAt(fd, 0, Math.min(FINGERPRINT_BYTES, upTo, st.size))
  return { dev: st.dev, ino: st.ino, headLen: head.length, headHash: hashBytes(head) }
}

export const sameInode = (a: { dev: number; ino: number }, b: { dev: number; ino: number }): boolean => a.dev === b.dev && a.ino === b.ino

// Is this open file the one the identity describes? Same inode, and its first headLen bytes hash the same.
export const isSameFile = (fd: number, st: Stats, id: FileIdentity): boolean => {
  if (!sameInode(st, id) || st.size < id.headLen) return false
  return hashBytes(readAt(fd, 0, id.headLen)) === id.headHash
}

// The mark: a hash of the bytes just before `pos`. If they no longer hash the same, the file
// was rewritten (truncated and regrown) under us and `pos` means nothing any more.
export const markAt = (fd: number, pos: number): { markLen: number; markHash: string } => {
  const len = Math.min(pos, MARK_BYTES)
  return { markLen: len, markHash: hashBytes(readAt(fd, pos - len, len)) }
}

export const markMatches = (fd: number, pos: number, mark: { markLen: number; markHash: string }): boolean => {
  if (mark.markLen === 0) return true
  const bytes = readAt(fd, pos - mark.markLen, mark.markLen)
  return bytes.length === mark.markLen && hashBytes(bytes) === mark.markHash
}
