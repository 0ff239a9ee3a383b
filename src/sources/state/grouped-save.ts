// Saves grouped in time: many changes (acks, renames) within `interval` cost one atomic write and
// one fsync. A save that fails from the timer (disk full, read-only) stays due and is reported.
export class GroupedSave {
  private dirty = false
  private timer?: NodeJS.Timeout
  private closed = false

  constructor(
    private readonly interval: number,
    private readonly write: () => void,
    private readonly onError: (error: unknown) => void,
  ) {}

  // Something changed: save soon.
  markDirty(): void {
    this.dirty = true
    if (this.timer || this.closed) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      try {
        this.saveNow()
      } catch (e) {
        this.dirty = true
        this.onError(e)
      }
    }, this.interval)
  }

  // Save now if anything changed (throws what the write throws).
  saveNow(): void {
    if (!this.dirty) return
    this.dirty = false
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    this.write()
  }

  // A last save; no timer runs after this.
  close(): void {
    try {
      this.saveNow()
    } finally {
      this.closed = true
    }
  }
}
