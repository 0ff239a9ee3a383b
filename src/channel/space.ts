import { statfsSync } from 'node:fs'

// Free space on the channel's file system, as an unprivileged process may use it. statfs is
// cheap but not free: it is asked at most every 100 ms or after every MiB written, and the bytes
// written since are subtracted meanwhile.
export class FreeSpace {
  private free = Infinity
  private checkedAt = 0
  private writtenSince = 0
  constructor(private readonly dir: string) {}

  available(): number {
    if (Date.now() - this.checkedAt >= 100 || this.writtenSince >= 1024 * 1024) this.refresh()
    return this.free - this.writtenSince
  }

  refresh(): void {
    const st = statfsSync(this.dir)
    this.free = st.bavail * st.bsize
    this.checkedAt = Date.now()
    this.writtenSince = 0
  }

  wrote(bytes: number): void {
    this.writtenSince += bytes
  }
}

export type WhenFull = 'block' | 'drop-oldest' | 'drop-newest'
