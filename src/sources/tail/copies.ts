import { fstatSync, type Stats } from 'node:fs'
import { readAt } from '../../core/read-at.js'
import type { FileEntry } from './checkpoint-store.js'
import type { FileTail } from './file-tail.js'
import { inodeKey, type TailFiles } from './files.js'
import { FINGERPRINT_BYTES, hashBytes, markMatches } from '../file/identity.js'

// generations ended by a truncation whose first bytes are kept (see copyOf)
const ENDED_HEADS = 16

// Tells the copies copytruncate makes (app.log.1) of generations tail read, so that a copy's
// stream goes on where the checkpoint stood instead of being read again as a new file.
export class Copies {
  // the first bytes of the generations lately ended by a truncation, as read: their copies
  // (copytruncate) are told by them while still being written
  private readonly endedHeads = new Map<FileEntry, Buffer>()
  // files that may be copies still being written: their size, and since when it is the same
  private readonly shortSeen = new Map<string, { size: number; at: number }>()

  constructor(
    private readonly files: TailFiles,
    private readonly rotateWait: number,
  ) {}

  // A generation adopted now: its fingerprint is of `head`, the first bytes it holds now, which
  // its reader then checks against what it reads (see FileTail.keepHead).
  keepEndedHead(entry: FileEntry, head: Buffer): void {
    if (head.length === 0) return
    this.endedHeads.set(entry, head)
    // a copy is made before the truncation: only the last few can still be being written
    for (const old of this.endedHeads.keys()) {
      if (this.endedHeads.size <= ENDED_HEADS) break
      this.endedHeads.delete(old)
    }
    if (this.shortSeen.size > ENDED_HEADS * 4) this.shortSeen.clear()
  }

  // The generation's copy was adopted: its first bytes are no longer needed.
  adopted(entry: FileEntry): void {
    this.endedHeads.delete(entry)
  }

  // Is this file, new to us by its inode, a copy of a generation we know (same first bytes, and
  // the bytes before that generation's checkpoint the same)? The released generation it copies,
  // or 'wait' when that generation is still being read (a copy of a live file: its lines come
  // through the original), or when it cannot be told yet: the file is shorter than what we know
  // of a generation it starts like (a copy still being written; looked at again until its size
  // stays the same for --rotate-wait), or a generation it could copy has not been read yet.
  // The first bytes are compared with those tail read (in memory for the files it reads and the
  // generations lately truncated), else with the fingerprint. initial: the first listing.
  copyOf(fd: number, st: Stats, initial: boolean): FileEntry | 'wait' | undefined {
    const readers = new Map<FileEntry, FileTail>()
    for (const t of this.files.tails) readers.set(t.entry, t)
    const first = readAt(fd, 0, Math.min(FINGERPRINT_BYTES, st.size))
    const heads = new Map<number, string>()
    let best: FileEntry | undefined
    for (const e of this.files.store.entries) {
      const reader = readers.get(e)
      const known = reader?.firstBytes.length ? reader.firstBytes : this.endedHeads.get(e)
      if (known) {
        const n = Math.min(first.length, known.length)
        if (!first.subarray(0, n).equals(known.subarray(0, n))) continue // starts otherwise
        if (first.length < known.length || st.size < e.pos) {
          if (this.stillGrowing(st, initial)) return 'wait'
          continue
        }
      } else if (e.headLen === 0) {
        // adopted empty, nothing read yet: its reader decides once it has read what its file holds
        if (reader && !reader.closed && fstatSync(reader.fd).size > 0) return 'wait'
        continue
      } else {
        if (st.size < e.headLen) continue
        let head = heads.get(e.headLen)
        if (head === undefined) heads.set(e.headLen, (head = hashBytes(first.subarray(0, e.headLen))))
        if (head !== e.headHash) continue
        if (st.size < e.pos) return 'wait'
      }
      if (!markMatches(fd, e)) continue
      if (!e.released || this.files.retiring.has(e)) return 'wait'
      if (!best || e.released > best.released!) best = e
    }
    this.shortSeen.delete(inodeKey(st))
    return best
  }

  // A file shorter than a generation it starts like: still being copied while its size changes,
  // for at most --rotate-wait after it last did.
  private stillGrowing(st: Stats, initial: boolean): boolean {
    if (initial) return false // what is there at the start is taken as it is
    const key = inodeKey(st)
    const now = Date.now()
    const seen = this.shortSeen.get(key)
    if (!seen || seen.size !== st.size) {
      this.shortSeen.set(key, { size: st.size, at: now })
      return true
    }
    return now - seen.at < this.rotateWait
  }
}
