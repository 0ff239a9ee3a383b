// A small file system that can be filled up: a tmpfs mounted over a collector's roll root (needs
// root). fill() writes a hidden filler file until ENOSPC; free() removes it.
import { execFileSync } from 'node:child_process'
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from 'node:fs'
import { join } from 'node:path'

export class SmallDisk {
  constructor(dir, size) {
    this.dir = dir
    this.size = size
    this.filler = join(dir, '.chaos-filler')
    this.mounted = false
  }

  // Returns null when mounted, else why not (the injection is then skipped and reported).
  mount() {
    mkdirSync(this.dir, { recursive: true })
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${this.size}`, 'tsf-chaos', this.dir], { stdio: ['ignore', 'ignore', 'pipe'] })
      this.mounted = true
      return null
    } catch (e) {
      return (
        String(e.stderr || e.message)
          .trim()
          .split('\n')[0] || 'mount failed'
      )
    }
  }

  // Fills every free byte; returns how many bytes the filler took.
  fill() {
    const fd = openSync(this.filler, 'a')
    let total = 0
    try {
      for (const chunk of [1 << 20, 1 << 16, 1 << 12, 512, 1]) {
        const buf = Buffer.alloc(chunk, 0x2e)
        for (;;) {
          try {
            total += writeSync(fd, buf)
          } catch (e) {
            if (e.code === 'ENOSPC') break
            throw e
          }
        }
      }
    } finally {
      closeSync(fd)
    }
    return total
  }

  free() {
    rmSync(this.filler, { force: true })
  }

  unmount() {
    if (!this.mounted) return
    try {
      execFileSync('umount', [this.dir], { stdio: 'ignore' })
    } catch {
      execFileSync('umount', ['-l', this.dir], { stdio: 'ignore' })
    }
    this.mounted = false
  }
}
