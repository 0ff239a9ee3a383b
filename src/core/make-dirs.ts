import { mkdirSync, statSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'

// mkdir -p, returning the first directory it created (undefined when all were there), as node's
// mkdir(dir, { recursive: true }) does. Not that one: where mkdir keeps answering ENOENT although
// the parent exists (under /proc or /sys), node's retries for ever, in the main thread for the
// sync form, so `tsf roll /proc/x` hung silently and SIGTERM could not stop it. Here the second
// ENOENT is the error.
export const makeDirsSync = (dir: string): string | undefined => {
  const path = resolve(dir)
  try {
    mkdirSync(path)
    return path
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return existing(path, error)
    if (code !== 'ENOENT' || dirname(path) === path) throw error
  }
  const first = makeDirsSync(dirname(path))
  try {
    mkdirSync(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    return existing(path, error)
  }
  return first ?? path
}

export const makeDirs = async (dir: string): Promise<string | undefined> => {
  const path = resolve(dir)
  try {
    await mkdir(path)
    return path
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code
    if (code === 'EEXIST') return existing(path, error)
    if (code !== 'ENOENT' || dirname(path) === path) throw error
  }
  const first = await makeDirs(dirname(path))
  try {
    await mkdir(path)
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
    return existing(path, error)
  }
  return first ?? path
}

// There already: fine if it is a directory (or a link to one), the EEXIST otherwise.
const existing = (path: string, error: unknown): undefined => {
  if (statSync(path, { throwIfNoEntry: false })?.isDirectory()) return undefined
  throw error
}
