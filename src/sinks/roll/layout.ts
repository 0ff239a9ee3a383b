import { UsageError } from '../../core/errors.js'
import { compileTemplate, cutToBytes, type EscapeContext } from './escapes.js'
import { STATE_DIR } from './storage.js'

// Where an event's file goes: the output root (the leading part of the directory argument without
// escapes, which also holds roll's state), a directory below it expanded per event, and the file
// name: <prefix>[-]<opened ms>-<n><suffix>, written as <name>.tmp until it is final (visible, like
// Flume's HDFS sink; a glob on the suffix such as *.log never matches it). A "-" separates the
// prefix from the counter unless the prefix already ends in "-", "_" or ".". In the prefix, a
// header the event lacks is MISSING, and a name never starts with "-" (it would read as an option
// to rm, ls, mv...): a leading "-" becomes "_".

// Marks a file being written; renamed away when the file rolls.
export const IN_PROGRESS = '.tmp'
// Files in progress of earlier versions of roll (hidden: ".<name>.inprogress"); the state still knows
// them by that name after an upgrade, and the first start publishes them.
export const LEGACY_IN_PROGRESS = '.inprogress'
// NAME_MAX in bytes, less room for ".tmp" and ".<k>" when a final name is taken.
const NAME_BUDGET = 255 - IN_PROGRESS.length - 12
// what %{header} is in --prefix when the event has no such header (or it is empty)
export const MISSING = '_'

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
  if (options.prefix.includes('/'))
    throw new UsageError(
      `--prefix: a file name prefix cannot contain '/' (put directories in the directory argument), got '${options.prefix}'`,
    )
  if (options.prefix.startsWith('.')) throw new UsageError(`--prefix: names starting with '.' would be hidden, got '${options.prefix}'`)
  if (options.suffix.includes('/')) throw new UsageError(`--suffix: cannot contain '/', got '${options.suffix}'`)
  for (const marker of [IN_PROGRESS, LEGACY_IN_PROGRESS]) {
    if (options.suffix.endsWith(marker)) throw new UsageError(`--suffix: '${marker}' marks files being written, got '${options.suffix}'`)
  }
  const templates = [
    compileTemplate(rest, 'directory'),
    compileTemplate(options.prefix, '--prefix', MISSING),
    compileTemplate(options.suffix, '--suffix'),
  ] as const
  const [dirTemplate, prefixTemplate, suffixTemplate] = templates
  const expand = (context: EscapeContext): Bucket => {
    const dir = normaliseDir(dirTemplate.expand(context))
    const expanded = prefixTemplate.expand(context)
    const prefix = expanded.startsWith('-') ? MISSING + expanded.slice(1) : expanded
    const suffix = suffixTemplate.expand(context)
    return { key: `${dir}\0${prefix}\0${suffix}`, dir, prefix, suffix }
  }
  // One Bucket per distinct expansion, reused: most events share their bucket with the event
  // before (same second, same headers), so that case makes no strings at all.
  const usesEvent = templates.some((t) => t.usesEvent)
  const timed = templates.some((t) => t.dynamic)
  const step = Math.min(...templates.map((t) => t.timeStep))
  let lastStep = NaN
  let last: Bucket | undefined
  const known = new Map<string, Bucket>()
  return {
    root,
    bucketOf(context) {
      if (!usesEvent) {
        const at = timed ? Math.floor(context.ts / step) : 0
        if (last && at === lastStep) return last
        lastStep = at
        return (last = expand(context))
      }
      const fresh = expand(context)
      const same = known.get(fresh.key)
      if (same) return same
      if (known.size >= 10_000) known.clear()
      known.set(fresh.key, fresh)
      return fresh
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
    .map((s, i) => (s === '..' || (i === 0 && s === STATE_DIR) ? '_' + s.slice(1) : cutToBytes(s, 255)))
    .join('/')
}

const joinRel = (dir: string, name: string): string => (dir ? `${dir}/${name}` : name)

export interface FileNames {
  stem: string
  suffix: string
  final: string
  inProgress: string
}

// A file's names. The name is kept within NAME_MAX in bytes whatever the header values: the
// prefix (then the suffix) is cut, on a character boundary, rather than fail the commit for ever.
export const fileNames = (bucket: Pick<Bucket, 'dir' | 'prefix' | 'suffix'>, openedMs: number, n: number): FileNames => {
  let { prefix, suffix } = bucket
  const counter = `${openedMs}-${n}`
  if (Buffer.byteLength(prefix) + Buffer.byteLength(suffix) + counter.length + 1 > NAME_BUDGET) {
    suffix = cutToBytes(suffix, Math.floor(NAME_BUDGET / 2))
    prefix = cutToBytes(prefix, NAME_BUDGET - counter.length - 1 - Buffer.byteLength(suffix))
  }
  const base = `${prefix}${separator(prefix)}${counter}`
  return {
    stem: joinRel(bucket.dir, base),
    suffix,
    final: joinRel(bucket.dir, base + suffix),
    inProgress: joinRel(bucket.dir, base + suffix + IN_PROGRESS),
  }
}

const separator = (prefix: string): string => (prefix === '' || /[-_.]$/.test(prefix) ? '' : '-')

// The k-th alternative final name, for when the first one is taken by another file.
export const alternativeName = (stem: string, suffix: string, k: number): string => (k === 0 ? stem + suffix : `${stem}.${k}${suffix}`)
