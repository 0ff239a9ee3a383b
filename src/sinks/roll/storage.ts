// Where roll writes: a local directory or HDFS. Paths are relative to the output root, with "/"
// separators, and never leave it. Everything roll needs for exactly-once output is expressed here:
// appends that can be made durable, truncation back to a committed length, a publish that never
// overwrites, and a small state area (snapshot + append-only commit log) inside the root.

export interface RollFile {
  readonly rel: string
  // Appends all of the parts, in order (on failure part of them may have been written: truncate back).
  append(parts: Buffer[]): Promise<void>
  // Makes everything appended so far durable.
  sync(): Promise<void>
  truncate(length: number): Promise<void>
  close(): Promise<void>
}

export type PublishResult = 'done' | 'exists'

export interface StateLog {
  readonly size: number
  // Appends one record and makes it durable; on failure the log is cut back to its previous size.
  append(record: Buffer): Promise<void>
  // Empties the log (after a snapshot made its records redundant).
  reset(): Promise<void>
  close(): Promise<void>
}

export interface RollStorage {
  // the root, for messages
  readonly where: string
  describe(rel: string): string
  // Takes the root for this process (one roll per root), creating it if needed.
  lock(): Promise<void>
  unlock(): Promise<void>
  // Creates a new empty file (never an existing one), with its directories, durably.
  create(rel: string): Promise<RollFile>
  // The length of a file, undefined when it does not exist.
  length(rel: string): Promise<number | undefined>
  // Cuts an existing file back to length and makes that durable.
  truncate(rel: string, length: number): Promise<void>
  exists(rel: string): Promise<boolean>
  // Gives `from` the name `to` atomically, never replacing an existing `to`: 'exists' if `to` is
  // taken by another file. Idempotent: when a previous attempt already published it, 'done'.
  publish(from: string, to: string): Promise<PublishResult>
  remove(rel: string): Promise<void>
  // The state area (hidden, inside the root).
  readSnapshot(): Promise<Buffer | undefined>
  // Replaces the snapshot atomically and durably.
  writeSnapshot(data: Buffer): Promise<void>
  readLog(): Promise<Buffer | undefined>
  // Cuts the log back to `length` (a torn last record) and opens it for appending.
  openLog(length: number): Promise<StateLog>
}

// The hidden directory that holds roll's state inside the output root.
export const STATE_DIR = '.tsf-roll'
