import { readdirSync, statSync, type Dirent } from 'node:fs'
import { dirname, join, resolve, sep } from 'node:path'
import { enableLinearFallback } from '../../core/regex.js'

// Turns the command-line operands (files, globs, directories) into the regular files to tail
// now and the directories to watch for files that appear later.

export interface PathRules {
  // applied to the names of files found in directories and by globs; explicit files always count
  match?: RegExp
  exclude?: RegExp
  // how many levels of subdirectories of a directory operand are searched (0: only its files)
  recurse: number
  // also take compressed files (app.log.2.gz) found in directories and by globs; explicit files always count
  compressed?: boolean
}

export interface Expansion {
  files: string[]
  // directories whose changes may mean a new or rotated file
  dirs: string[]
  // explicit file operands that do not exist (yet)
  missing: string[]
  // explicit operands that are neither regular files nor directories (a FIFO, a device)
  notFiles: string[]
  // directories that could not be read, with the reason
  errors: { path: string; error: NodeJS.ErrnoException }[]
  // compressed files found in directories and by globs, left alone (logrotate's compress)
  compressed: string[]
}

// What logrotate and friends compress rotated logs into: tailing them gives binary garbage, and
// their lines were read from the live file before it was rotated.
const COMPRESSED = /\.(gz|tgz|bz2|tbz2?|xz|txz|zst|zstd|lz4|lzma|lz|lzo|z|Z|zip|7z|br|sz)$/

export const isCompressedName = (name: string): boolean => COMPRESSED.test(name)

const GLOB_CHARS = /[*?[]/
const MAX_GLOBSTAR_DEPTH = 8

export const isGlob = (operand: string): boolean => GLOB_CHARS.test(operand)

// One glob segment to a regular expression: * ? [...] as in the shell; a leading dot is matched only explicitly.
export const globSegment = (segment: string): RegExp => {
  let re = ''
  for (let i = 0; i < segment.length; i++) {
    const c = segment[i]!
    if (c === '*') re += '[^/]*'
    else if (c === '?') re += '[^/]'
    else if (c === '[') {
      const end = segment.indexOf(']', i + 2)
      if (end === -1) re += '\\['
      else {
        let cls = segment.slice(i + 1, end)
        if (cls.startsWith('!')) cls = `^${cls.slice(1)}`
        re += `[${cls.replace(/\\/g, '\\\\')}]`
        i = end
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&')
  }
  const dotOk = segment.startsWith('.')
  enableLinearFallback()
  return new RegExp(`^${dotOk ? '' : '(?!\\.)'}${re}$`)
}

const readDir = (dir: string, out: Expansion): Dirent[] => {
  try {
    return readdirSync(dir, { withFileTypes: true })
  } catch (e) {
    const error = e as NodeJS.ErrnoException
    if (error.code !== 'ENOENT' && error.code !== 'ENOTDIR') out.errors.push({ path: dir, error })
    return []
  }
}

// Follows symlinks: a link to a log file is tailed as the file.
const kindOf = (path: string, entry: Dirent): 'file' | 'dir' | 'other' => {
  if (entry.isFile()) return 'file'
  if (entry.isDirectory()) return 'dir'
  if (entry.isSymbolicLink()) {
    try {
      const st = statSync(path)
      return st.isFile() ? 'file' : st.isDirectory() ? 'dir' : 'other'
    } catch {
      return 'other'
    }
  }
  return 'other'
}

const accepted = (name: string, rules: PathRules): boolean =>
  (!rules.match || rules.match.test(name)) && !(rules.exclude && rules.exclude.test(name))

// A file found by a directory or glob walk: taken, or noted as a compressed one left alone.
const take = (path: string, name: string, rules: PathRules, out: Expansion): void => {
  if (!accepted(name, rules)) return
  if (!rules.compressed && isCompressedName(name)) out.compressed.push(path)
  else out.files.push(path)
}

const walkDir = (dir: string, depth: number, rules: PathRules, out: Expansion): void => {
  out.dirs.push(dir)
  for (const entry of readDir(dir, out)) {
    const path = join(dir, entry.name)
    const kind = kindOf(path, entry)
    if (kind === 'file') take(path, entry.name, rules, out)
    else if (kind === 'dir' && depth > 0) walkDir(path, depth - 1, rules, out)
  }
}

const walkGlob = (base: string, segments: string[], rules: PathRules, out: Expansion, globstarDepth = 0): void => {
  if (segments.length === 0) return
  const [segment, ...rest] = segments as [string, ...string[]]
  if (!isGlob(segment)) {
    const path = join(base, segment)
    if (rest.length) return walkGlob(path, rest, rules, out)
    try {
      if (statSync(path).isFile()) take(path, segment, rules, out)
    } catch {
      // not there (yet): the directory watch notices it
    }
    out.dirs.push(base)
    return
  }
  out.dirs.push(base)
  if (segment === '**') {
    walkGlob(base, rest, rules, out) // zero directories
    if (globstarDepth >= MAX_GLOBSTAR_DEPTH) return
    for (const entry of readDir(base, out)) {
      const path = join(base, entry.name)
      if (!entry.name.startsWith('.') && kindOf(path, entry) === 'dir') walkGlob(path, segments, rules, out, globstarDepth + 1)
    }
    return
  }
  const re = globSegment(segment)
  for (const entry of readDir(base, out)) {
    if (!re.test(entry.name)) continue
    const path = join(base, entry.name)
    const kind = kindOf(path, entry)
    if (rest.length === 0) {
      if (kind === 'file') take(path, entry.name, rules, out)
    } else if (kind === 'dir') walkGlob(path, rest, rules, out)
  }
}

export const expand = (operands: string[], rules: PathRules): Expansion => {
  const out: Expansion = { files: [], dirs: [], missing: [], notFiles: [], errors: [], compressed: [] }
  for (const operand of operands) {
    const abs = resolve(operand)
    if (isGlob(operand)) {
      const segments = abs.split(sep).filter(Boolean)
      walkGlob(sep, segments, rules, out)
      continue
    }
    let st
    try {
      st = statSync(abs)
    } catch (e) {
      const error = e as NodeJS.ErrnoException
      if (error.code === 'ENOENT' || error.code === 'ENOTDIR') out.missing.push(abs)
      else out.errors.push({ path: abs, error })
      out.dirs.push(dirname(abs))
      continue
    }
    if (st.isDirectory()) walkDir(abs, rules.recurse, rules, out)
    else if (!st.isFile()) out.notFiles.push(abs)
    else {
      out.files.push(abs)
      out.dirs.push(dirname(abs))
    }
  }
  out.files = [...new Set(out.files)]
  out.dirs = [...new Set(out.dirs)]
  out.compressed = [...new Set(out.compressed)].filter((p) => !out.files.includes(p))
  return out
}
