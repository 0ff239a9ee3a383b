import { UsageError } from '../../core/errors.js'
import { compileTemplate, type EscapeContext } from './escapes.js'
import { STATE_DIR } from './storage.js'

// Where an event's file goes: the output root (the leading part of the directory argument without
// escapes, which also holds roll's state), a directory below it expanded per event, and the file
// name: <prefix><opened ms>-<n><suffix>, written as .<name>.inprogress until it is final.

export interface Bucket {
  // identifies the bucket: dir + prefix + suffix, expanded
  key: string
  dir: string // relative to the root, "" for the root itself
  prefix: string
  suffix: string
}

export interface Layout {
  // the root, as given (no escapes)
  root: string
  bucketOf(context: EscapeContext): Bucket
}

// "/data/logs/%Y/%m/%d" → root "/data/logs", directory template "%Y/%m/%d"
export const splitRoot = (dir: string): { root: string; rest: string } => {
  const segments = dir.split('/')
  const at = segments.findIndex((s) => s.includes('%'))
  if (at === -1) return { root: dir, rest: '' }
  const root = segments.slice(0, at).join('/') || (dir.startsWith('/') ? '/' : '.')
  return { root, rest: segments.slice(at).join('/') }
}

export interface LayoutOptions {
  dir: string
  prefix: string
  suffix: string
}

export const compileLayout = (options: LayoutOptions): Layout => {
  const { root, rest } = splitRoot(options.dir)
  for (const segment of rest.split('/')) {
    if (segment === '..') throw new UsageError(`directory: '..' is not allowed below the output root in '${options.dir}'`)
    if (segment === STATE_DIR) throw new UsageError(`directory: ${STATE_DIR} is where roll keeps its state`)
  }
  if (options.prefix.includes('/')) throw new UsageError(`--prefix: a file name prefix cannot contain '/' (put directories in the directory argument), got '${options.prefix}'`)
  if (options.prefix.startsWith('.')) throw new UsageError(`--prefix: names starting with '.' are for files in progress, got '${options.prefix}'`)
  if (options.suffix.includes('/')) throw new UsageError(`--suffix: cannot contain '/', got '${options.suffix}'`)
  if (options.suffix.endsWith('.inprogress')) throw new UsageError(`--suffix: '.inprogress' marks files being written, got '${options.suffix}'`)
  const dirTemplate = compileTemplate(rest, 'directory')
  const prefixTemplate = compileTemplate(options.prefix, '--prefix')
  const suffixTemplate = compileTemplate(options.suffix, '--suffix')
  return {
    root,
    bucketOf(context) {
      const dir = normaliseDir(dirTemplate.expand(context))
      const prefix = prefixTemplate.expand(context)
      const suffix = suffixTemplate.expand(context)
      return { key: `${dir}\0${prefix}\0${suffix}`, dir, prefix, suffix }
    },
  }
}

// Empty and "." segments (from empty header values) disappear. Values cannot make "/" or a
// leading "." (see safeSegment); a ".." or the state directory glued together from a literal and
// a value is neutralised too, so the result always stays below the root and out of roll's state.
const normaliseDir = (dir: string): string => {
  if (!dir) return ''
  return dir
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .map((s, i) => (s === '..' || (i === 0 && s === STATE_DIR) ? '_' + s.slice(1) : s))
    .join('/')
}

const joinRel = (dir: string, name: string): string => (dir ? `${dir}/${name}` : name)

export interface FileNames {
  stem: string
  suffix: string
  final: string
  inProgress: string
}

export const fileNames = (bucket: Pick<Bucket, 'dir' | 'prefix' | 'suffix'>, openedMs: number, n: number): FileNames => {
  const base = `${bucket.prefix}${openedMs}-${n}`
  return {
    stem: joinRel(bucket.dir, base),
    suffix: bucket.suffix,
    final: joinRel(bucket.dir, base + bucket.suffix),
    inProgress: joinRel(bucket.dir, `.${base}${bucket.suffix}.inprogress`),
  }
}

// The k-th alternative final name, for when the first one is taken by another file.
export const alternativeName = (stem: string, suffix: string, k: number): string => (k === 0 ? stem + suffix : `${stem}.${k}${suffix}`)
