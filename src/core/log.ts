import { colourFor } from './colour.js'

// Diagnostics of the tool itself: one line each on stderr, "tsf <cmd>: message".
// stdout carries only events. Colour only on a TTY and never when NO_COLOR is set.
let prefix = 'tsf'
let quiet = false
// The terminal's own answer (TERM, FORCE_COLOR, NO_COLOR), as chalk's level was. Three basic
// colours written out: chalk, with the tty and os modules it loads, cost every command's start-up
// more CPU than its own modules.
const useColour = (): boolean => colourFor(process.stderr) && (process.stderr as { hasColors?: () => boolean }).hasColors?.() === true
const sgr =
  (open: number, close: number) =>
  (s: string): string =>
    `\x1b[${open}m${s}\x1b[${close}m`
const dim = sgr(2, 22)
const yellow = sgr(33, 39)
const red = sgr(31, 39)

export const setLogPrefix = (name: string): void => {
  prefix = name
}
export const setQuiet = (value: boolean): void => {
  quiet = value
}

// a progress line on the terminal is wiped before a diagnostic line, and redrawn by its timer
let beforeLine: (() => void) | undefined
export const setBeforeLine = (f: (() => void) | undefined): void => {
  beforeLine = f
}

// Every diagnostic stays one line, whatever a quoted value holds: line breaks are shown escaped.
const LINE_BREAKS = /[\r\n\u2028\u2029]/g
export const oneLine = (message: string): string =>
  message.replace(LINE_BREAKS, (c) => (c === '\n' ? '\\n' : c === '\r' ? '\\r' : `\\u${c.charCodeAt(0).toString(16)}`))

const emit = (text: string): void => {
  beforeLine?.()
  try {
    process.stderr.write(`${oneLine(text)}\n`)
  } catch {
    // stderr closed: nothing left to tell
  }
}

export const info = (message: string): void => {
  if (!quiet) emit(`${useColour() ? dim(prefix + ':') : prefix + ':'} ${message}`)
}

export const warn = (message: string): void => {
  emit(`${useColour() ? yellow(prefix + ':') : prefix + ':'} ${message}`)
}

export const error = (message: string): void => {
  emit(`${useColour() ? red(prefix + ': error:') : prefix + ': error:'} ${message}`)
}

// Some conditions are worth saying once per process, not once per event.
const said = new Set<string>()
export const warnOnce = (key: string, message: string): void => {
  if (said.has(key)) return
  said.add(key)
  warn(message)
}
