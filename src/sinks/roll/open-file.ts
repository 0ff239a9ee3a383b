import type { Bucket } from './layout.js'
import type { RollFile } from './storage.js'

// One bucket's file in progress. Its bytes on storage are always exactly the committed ones
// between commits: data is written only inside a commit, and cut back if the commit fails.
export interface OpenFile {
  bucket: Bucket
  file: RollFile
  rel: string // the in-progress name
  stem: string
  suffix: string
  len: number // committed bytes
  raw: number // committed bytes before compression, for --size
  events: number
  midLine: boolean // the committed bytes end inside a cut line: not rolled by size, count or interval
  openedAt: number // wall clock, for --interval
  lastWrite: number // wall clock, for --idle and --max-open
}
