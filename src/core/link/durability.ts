import { fsync } from 'node:fs'
import type { OutputMode } from './mode.js'

interface Mark {
  position: number
  bytes: number
  onDurable?: () => void
}

// What of the writer's output is durable, by the mode's rule (mode.ts), and the callbacks waiting
// for it: one mark per write(), run in order once the durable position passes it.
export class Durability {
  written = 0 // last position handed to the kernel
  synced = 0 // last position fsynced (file mode)
  acked = 0 // last position acked by a linked reader
  durable = 0
  bytesDurable = 0
  private marks: Mark[] = []
  private markHead = 0
  private syncing = false

  // onDurable runs once everything up to `position` (`bytes` written in all) is durable.
  mark(position: number, bytes: number, onDurable?: () => void): void {
    this.marks.push({ position, bytes, onDurable })
  }

  // Moves the durable position by the mode's rule and runs the callbacks it passed; false when
  // nothing became durable.
  advance(mode: OutputMode): boolean {
    const durable =
      mode === 'write' ? this.written : mode === 'file' ? this.synced : mode === 'acked' ? Math.min(this.acked, this.written) : this.durable
    if (durable <= this.durable) return false
    this.durable = durable
    const marks = this.marks
    while (this.markHead < marks.length && marks[this.markHead]!.position <= durable) {
      const mark = marks[this.markHead++]!
      this.bytesDurable = mark.bytes
      const onDurable = mark.onDurable
      // done marks stay in the array a while: drop the callback so it keeps nothing alive
      mark.onDurable = undefined
      onDurable?.()
    }
    if (this.markHead > 1024 && this.markHead * 2 > marks.length) {
      this.marks = marks.slice(this.markHead)
      this.markHead = 0
    }
    return true
  }

  // Where the oldest write not yet durable ends (in bytes written): the writer's window counts from
  // there. A filter that block-buffers (grep into a pipe) holds the end of what we wrote; when one
  // write (a line longer than the window) filled the window by itself, counting it would stop us
  // before we wrote what pushes its end out of the filter, and nothing would move again.
  get oldestPendingEnd(): number {
    return this.markHead < this.marks.length ? this.marks[this.markHead]!.bytes : this.bytesDurable
  }

  // Group commit for a regular-file stdout: one fsync covers everything written before it began.
  sync(fd: number, synced: () => void): void {
    if (this.syncing) return
    this.syncing = true
    const upTo = this.written
    fsync(fd, () => {
      this.syncing = false
      this.synced = upTo
      synced()
      if (this.written > this.synced) this.sync(fd, synced)
    })
  }
}
