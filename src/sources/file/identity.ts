import { createHash } from 'node:crypto'
import type { Stats } from 'node:fs'
import { readAt } from '../../core/read-at.js'

// A file is found again by what it is, not by where it is: device + inode, plus a fingerprint of
// its first bytes (inodes are reused once a file is deleted). tail finds its files with it after a
// restart; spool tells with it that a file it adopted is still the one it was. The fingerprint covers at most
// FINGERPRINT_BYTES, so it stops changing once the file is that long; until then it covers what
// tail read of it up to the checkpoint. The identity is only used to find a file again, never as
// a stream id (that is the src, which changes with each copytruncate generation).
//
// The fingerprint and the mark (below) are taken from the bytes tail READ, never by reading the
// file again when the downstream acks: by then the file may have been truncated and regrown
// (copytruncate), and a fingerprint of those bytes would describe another generation, so that
// the copy logrotate left could no longer be matched to the generation it copies.

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

// The hash of a run of bytes held in two pieces (the same as hashBytes of both joined).
export const hashPieces = (a: Buffer, b: Buffer): string => createHash('sha1').update(a).update(b).digest('base64url')

// The first bytes of an open file, as many as its fingerprint covers.
export const readHead = (fd: number, st: Stats): Buffer => readAt(fd, 0, Math.min(FINGERPRINT_BYTES, st.size))

// The identity of a file, from its first bytes.
export const identityOf = (st: Stats, head: Buffer): FileIdentity => ({
  dev: st.dev,
  ino: st.ino,
  headLen: head.length,
  headHash: hashBytes(head),
})

export const sameInode = (a: { dev: number; ino: number }, b: { dev: number; ino: number }): boolean => a.dev === b.dev && a.ino === b.ino

// Is this open file the one the identity describes? Same inode, and its first headLen bytes hash the same.
export const isSameFile = (fd: number, st: Stats, id: FileIdentity): boolean => {
  if (!sameInode(st, id) || st.size < id.headLen) return false
  return hashBytes(readAt(fd, 0, id.headLen)) === id.headHash
}

export interface Mark {
  markLen: number
  markHash: string
}

// The mark: a hash of the bytes just before a checkpoint. If they no longer hash the same, the
// file was rewritten (truncated and regrown) under us and the checkpoint means nothing any more.
// It ends at the checkpoint (`pos`), or at `markEnd` when the bytes before the checkpoint were
// not at hand when the events were read (an event that ended in an earlier read): an earlier
// event's end, whose bytes tail did hold.
export interface Marked extends Mark {
  pos: number
  markEnd?: number
}

export const markAt = (fd: number, pos: number): Mark => {
  const len = Math.min(pos, MARK_BYTES)
  return { markLen: len, markHash: hashBytes(readAt(fd, pos - len, len)) }
}

// Does the open file still hold the marked bytes before the checkpoint?
export const markMatches = (fd: number, mark: Marked): boolean => {
  if (mark.markLen === 0) return true
  const end = mark.markEnd ?? mark.pos
  const bytes = readAt(fd, end - mark.markLen, mark.markLen)
  return bytes.length === mark.markLen && hashBytes(bytes) === mark.markHash
}
