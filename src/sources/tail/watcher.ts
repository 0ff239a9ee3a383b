import { watch, type FSWatcher } from 'node:fs'
import { join } from 'node:path'
import { warnOnce } from '../../core/log.js'

// Tells the engine when to look: inotify (fs.watch) on the directories that hold the tailed
// files, for sub-millisecond reaction to appends, renames and new files; and a poll timer as
// the safety net (files renamed out of the watched directories, deleted-but-open files,
// filesystems without inotify, a watch limit reached).

export interface WatchEvents {
  // something happened to this path (an append, usually)
  changed(path: string): void
  // a name appeared, went away or was renamed in a directory: the files must be listed again
  renamed(dir: string): void
  // the poll timer
  poll(): void
}

export class Watcher {
  private readonly watchers = new Map<string, FSWatcher>()
  private readonly timer: NodeJS.Timeout

  constructor(
    private readonly events: WatchEvents,
    pollInterval: number,
    private readonly useInotify = true,
  ) {
    this.timer = setInterval(() => events.poll(), pollInterval)
  }

  // Watches exactly these directories (new ones added, gone ones dropped).
  setDirs(dirs: string[]): void {
    const want = new Set(dirs)
    for (const [dir, w] of this.watchers) {
      if (!want.has(dir)) {
        w.close()
        this.watchers.delete(dir)
      }
    }
    if (!this.useInotify) return
    for (const dir of want) {
      if (this.watchers.has(dir)) continue
      try {
        const w = watch(dir, { persistent: false }, (type, name) => {
          if (name === null) return this.events.renamed(dir)
          if (type === 'rename') this.events.renamed(dir)
          this.events.changed(join(dir, name.toString()))
        })
        w.on('error', () => {
          // the directory went away: the next listing notices
          w.close()
          this.watchers.delete(dir)
          this.events.renamed(dir)
        })
        this.watchers.set(dir, w)
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code
        if (code !== 'ENOENT' && code !== 'ENOTDIR') warnOnce(`watch:${code}`, `cannot watch ${dir} (${code}): relying on polling there`)
      }
    }
  }

  close(): void {
    clearInterval(this.timer)
    for (const w of this.watchers.values()) w.close()
    this.watchers.clear()
  }
}
