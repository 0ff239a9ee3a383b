import { readdirSync, statSync, type Stats } from 'node:fs'
import { join } from 'node:path'

// Which files of the spool directory are candidates, and in what order they are ingested.

export type SpoolOrder = 'oldest' | 'youngest' | 'name'

export interface ListRules {
  // matched against each file (and, with recurse, directory) name: matching ones are left alone
  ignore: RegExp
  // finished files carry it: never candidates
  doneSuffix?: string
  recurse: boolean
  // our own state and quarantine directories, never listed even when inside the spool dir
  skip: Set<string>
}

export interface Candidate {
  path: string
  st: Stats
}

// Every regular file under `dir` the rules let through; directories that cannot be read are
// reported through onError and skipped.
export const listCandidates = (dir: string, rules: ListRules, onError: (path: string, error: unknown) => void): Candidate[] => {
  const out: Candidate[] = []
  const walk = (at: string): void => {
    let names: string[]
    try {
      names = readdirSync(at)
    } catch (e) {
      onError(at, e)
      return
    }
    for (const name of names) {
      if (rules.ignore.test(name)) continue
      const path = join(at, name)
      if (rules.skip.has(path)) continue
      let st: Stats
      try {
        st = statSync(path)
      } catch {
        continue // gone meanwhile (or a dangling link): the next listing tells
      }
      if (st.isDirectory()) {
        if (rules.recurse) walk(path)
        continue
      }
      if (!st.isFile()) continue
      if (rules.doneSuffix && name.endsWith(rules.doneSuffix)) continue
      out.push({ path, st })
    }
  }
  walk(dir)
  return out
}

// Settled: neither written to nor renamed/changed (ctime) for `settle` ms.
export const isSettled = (st: Stats, settle: number, now = Date.now()): boolean => now - Math.max(st.mtimeMs, st.ctimeMs) >= settle

export const orderCandidates = (files: Candidate[], order: SpoolOrder): Candidate[] => {
  const byName = (a: Candidate, b: Candidate): number => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)
  if (order === 'name') return files.sort(byName)
  const sign = order === 'oldest' ? 1 : -1
  return files.sort((a, b) => sign * (a.st.mtimeMs - b.st.mtimeMs) || byName(a, b))
}
