import { oneLine } from './log.js'
import { ExitCode } from './exit-codes.js'

// Expected failures are TsfErrors: the CLI prints their message on one line, never a stack. A
// message often quotes what the operator (or a peer) gave, which may hold line breaks: they are
// shown escaped, so the message stays one line and a log reader cannot be fed a forged line.
export class TsfError extends Error {
  readonly exitCode: number
  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(oneLine(message), options.cause === undefined ? undefined : { cause: options.cause })
    this.exitCode = options.exitCode ?? ExitCode.failure
  }
}

Object.defineProperty(TsfError.prototype, 'name', { value: 'TsfError', enumerable: false })

// A usage error exits 2, like commander's own.
export class UsageError extends TsfError {
  constructor(message: string) {
    super(message, { exitCode: ExitCode.usage })
  }
}

Object.defineProperty(UsageError.prototype, 'name', { value: 'UsageError', enumerable: false })

export const isTsfError = (error: unknown): error is TsfError => error instanceof TsfError

// Node's system errors carry a code such as ENOENT; turn them into a sentence about the path.
export const describeSystemError = (error: unknown): string => {
  const e = error as NodeJS.ErrnoException
  if (e && typeof e === 'object' && typeof e.code === 'string') {
    const where = e.path ?? (e as { address?: string }).address ?? ''
    const what: Record<string, string> = {
      ENOENT: 'no such file or directory',
      EACCES: 'permission denied',
      EPERM: 'operation not permitted',
      ENOSPC: 'no space left on device',
      ECONNREFUSED: 'connection refused',
      EADDRINUSE: 'address already in use',
      EISDIR: 'is a directory',
      ENOTDIR: 'not a directory',
    }
    return `${where ? `${where}: ` : ''}${what[e.code] ?? e.message}`
  }
  return error instanceof Error ? error.message : String(error)
}
