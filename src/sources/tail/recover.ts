import { closeSync, fstatSync, openSync, readdirSync, statSync, type Stats } from 'node:fs'
import { dirname, join } from 'node:path'
import { info, warn } from '../../core/log.js'
import { inodeKey, type TailFiles } from './files.js'
import { isSameFile, markMatches, readHead } from '../file/identity.js'

// After a restart: every generation not yet finished is looked for by its identity, at its
// last path and then among its siblings (app.log.1, app.log-20261121, ...), and finished.
export const recoverFiles = (files: TailFiles): void => {
  const { store } = files
  const listings = new Map<string, Map<string, string[]>>()
  const siblings = (dir: string): Map<string, string[]> => {
    let byKey = listings.get(dir)
    if (byKey) return byKey
    byKey = new Map()
    listings.set(dir, byKey)
    let names: string[] = []
    try {
      names = readdirSync(dir)
    } catch {
      // the directory is gone
    }
    for (const name of names) {
      try {
        const st = statSync(join(dir, name))
        if (!st.isFile()) continue
        const key = inodeKey(st)
        byKey.set(key, [...(byKey.get(key) ?? []), join(dir, name)])
      } catch {
        // went away meanwhile
      }
    }
    return byKey
  }
  // newest first: after a copytruncate the current generation claims the inode, not the old one
  for (const entry of [...store.entries].reverse()) {
    if (entry.released) continue
    const candidates = [entry.lastPath, ...(siblings(dirname(entry.lastPath)).get(inodeKey(entry)) ?? [])]
    let found: { fd: number; st: Stats; path: string } | undefined
    for (const path of new Set(candidates)) {
      let fd: number | undefined
      try {
        fd = openSync(path, 'r')
        const st = fstatSync(fd)
        if (st.isFile() && isSameFile(fd, st, entry) && !files.byInode.has(inodeKey(st))) {
          found = { fd, st, path }
          break
        }
      } catch {
        // not readable or gone: try the next
      }
      if (fd !== undefined) closeSync(fd)
    }
    if (!found) {
      entry.released = Date.now()
      store.markDirty()
      info(`${entry.lastPath}: no longer found (deleted while tail was down?); its stream ${entry.src} ends at offset ${entry.pos}`)
      continue
    }
    const { fd, st, path } = found
    let current = entry
    let head: Buffer | undefined
    if (st.size < entry.pos || !markMatches(fd, entry)) {
      warn(
        `${path}: truncated or rewritten while tail was down (its bytes before offset ${entry.pos} changed): reading it from the start as a new stream`,
      )
      entry.released = Date.now()
      head = readHead(fd, st)
      current = files.newEntry(fd, st, head, entry.path, path, 0)
    } else if (path !== entry.lastPath) {
      entry.lastPath = path
      info(`${path}: found ${entry.path} here (rotated while tail was down); finishing it from offset ${entry.pos}`)
    }
    files.add(fd, st, current, path, head)
  }
  store.save()
}
