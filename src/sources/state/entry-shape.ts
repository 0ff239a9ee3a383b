import { TsfError } from '../../core/errors.js'

// The entries of a state file are checked field by field when it is loaded: the file is written
// atomically, so a wrong shape means it was edited or damaged on disk, and trusting it would
// crash far from the cause (a TypeError in the middle of recovery) or silently skip data. The
// command refuses to start instead, naming the file and the entry.

export type FieldKind = 'count' | 'number' | 'string' | 'count?' | 'counts?'

const fits = (kind: FieldKind, value: unknown): boolean => {
  const isCount = (v: unknown): boolean => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0
  switch (kind) {
    case 'count':
      return isCount(value)
    case 'number':
      return typeof value === 'number' && Number.isFinite(value)
    case 'string':
      return typeof value === 'string'
    case 'count?':
      return value === undefined || isCount(value)
    case 'counts?':
      return value === undefined || (Array.isArray(value) && value.every(isCount))
  }
}

/** Throws a one-line TsfError naming `path`, the entry and the field if any entry of `entries` has a wrong shape (`what`: "a tsf tail checkpoint file"). */
export function checkEntries(path: string, entries: unknown[], shape: Record<string, FieldKind>, what: string): void {
  entries.forEach((entry, i) => {
    const bad =
      entry === null || typeof entry !== 'object' || Array.isArray(entry)
        ? 'not an object'
        : Object.entries(shape).find(([field, kind]) => !fits(kind, (entry as Record<string, unknown>)[field]))?.[0]
    if (bad === undefined) return
    const why = bad === 'not an object' ? bad : `field "${bad}" is missing or not a valid value`
    throw new TsfError(`${path}: entry ${i + 1} of ${entries.length} is damaged (${why}): not ${what} (remove it to start over)`)
  })
}
