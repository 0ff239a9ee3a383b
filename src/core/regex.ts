import { createRequire } from 'node:module'
import { UsageError } from './errors.js'

// Regular expressions from the command line (filter's steps, tail's --ts-regex ...) run on lines
// anyone who can write a log line controls. A pattern like (a+)+$ backtracks exponentially on a
// line of a's: a filter stuck in one test blocks its event loop, so it neither passes events nor
// stops on SIGTERM. V8 can fall back to its linear-time engine once a match backtracks too much
// (every pattern without backreferences or lookaround): turned on before the first user pattern
// is compiled (the flag is read when a RegExp is created), not at import, where node:v8 would load
// with every --help.
// Patterns built from user text (--ts-format, globs) call it too.
let linearFallback = false
export const enableLinearFallback = (): void => {
  if (linearFallback) return
  const v8 = createRequire(import.meta.url)('node:v8') as typeof import('node:v8')
  v8.setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks')
  linearFallback = true
}

// A user's pattern, or a one-line usage error naming the option.
export const userRegex = (option: string, text: string): RegExp => {
  enableLinearFallback()
  try {
    return new RegExp(text)
  } catch (e) {
    throw new UsageError(`${option}: not a valid regular expression: ${(e as Error).message}`)
  }
}
