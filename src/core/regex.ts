import { setFlagsFromString } from 'node:v8'
import { UsageError } from './errors.js'

// Regular expressions from the command line (filter's steps, tail's --ts-regex ...) run on lines
// anyone who can write a log line controls. A pattern like (a+)+$ backtracks exponentially on a
// line of a's: a filter stuck in one test blocks its event loop, so it neither passes events nor
// stops on SIGTERM. V8 can fall back to its linear-time engine once a match backtracks too much
// (every pattern without backreferences or lookaround): turned on here, before any user pattern
// is compiled (the flag is read when a RegExp is created).
setFlagsFromString('--enable-experimental-regexp-engine-on-excessive-backtracks')

// A user's pattern, or a one-line usage error naming the option.
export const userRegex = (option: string, text: string): RegExp => {
  try {
    return new RegExp(text)
  } catch (e) {
    throw new UsageError(`${option}: not a valid regular expression: ${(e as Error).message}`)
  }
}
