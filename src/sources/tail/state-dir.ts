import { createHash } from 'node:crypto'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'

// Where checkpoints live without --state: one directory per distinct set of operands (and the
// rules that pick files), under $XDG_STATE_HOME/tsf or ~/.local/state/tsf, so two tails of
// different files never share checkpoints and the same command finds its own again.
export const defaultStateDir = (operands: string[], rules: { match?: RegExp; exclude?: RegExp; recurse: number }): string => {
  const base = process.env.XDG_STATE_HOME ? join(process.env.XDG_STATE_HOME, 'tsf') : join(homedir(), '.local', 'state', 'tsf')
  const key = JSON.stringify([
    [...new Set(operands.map((o) => resolve(o)))].sort(),
    rules.match?.source ?? null,
    rules.exclude?.source ?? null,
    rules.recurse,
  ])
  return join(base, `tail-${createHash('sha256').update(key).digest('hex').slice(0, 16)}`)
}
