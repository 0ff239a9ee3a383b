// How ship reads the driver's errors: retry (the server is away or busy), refuse the documents
// (the server said no to them), or stop (the configuration is wrong), each said in one line.

interface DriverError {
  name?: string
  message?: string
  code?: number | string
  codeName?: string
  cause?: unknown
  reason?: { servers?: Map<string, { error?: { message?: string } | null }> }
  hasErrorLabel?: (label: string) => boolean
}

// Server codes that say "not now": not primary, shutting down, stepped down, timeouts, conflicts.
const retryableCodes = new Set([6, 7, 46, 50, 64, 89, 91, 112, 189, 262, 9001, 10107, 11600, 11602, 13435, 13436])
// Codes and driver errors that no retry can fix: credentials.
const authCodes = new Set([18, 13, 11])

export const isAuthError = (error: unknown): boolean => {
  const e = error as DriverError
  if (!e || typeof e !== 'object') return false
  if (e.name === 'MongoMissingCredentialsError') return true
  if (typeof e.code === 'number' && authCodes.has(e.code) && e.name !== 'MongoBulkWriteError') return true
  // credentials for a server without authentication: its handshake knows no saslStart
  if (e.code === 59 && e.hasErrorLabel?.('HandshakeError')) return true
  return e.cause !== undefined && e.cause !== e && isAuthError(e.cause)
}

// The write may not have happened, and doing it again can succeed.
export const isRetryable = (error: unknown): boolean => {
  const e = error as DriverError
  if (!e || typeof e !== 'object') return true
  if (e.hasErrorLabel?.('RetryableWriteError') || e.hasErrorLabel?.('ResetPool')) return true
  if (typeof e.code === 'number' && retryableCodes.has(e.code)) return true
  if (
    /^Mongo(Network|NetworkTimeout|ServerSelection|ServerClosed|TopologyClosed|PoolCleared|PoolClosed|WriteConcern|Expired|OperationTimeout)Error$/.test(
      e.name ?? '',
    )
  )
    return true
  return false
}

export const isRetryableCode = (code: unknown): boolean => typeof code === 'number' && retryableCodes.has(code)

// One line, the cause first: "connection refused (127.0.0.1:1)", "authentication failed: ...".
export const describeMongoError = (error: unknown): string => {
  const e = error as DriverError
  if (!e || typeof e !== 'object') return String(error)
  if (/^Mongo(Parse|InvalidArgument|API)Error$/.test(e.name ?? '')) return oneLine(e.message)
  if (isAuthError(e)) return `authentication failed: ${oneLine(innermost(e).message ?? e.message)}`
  let text = oneLine(e.message ?? String(error))
  const serverErrors = [...(e.reason?.servers?.values() ?? [])].map((s) => s.error?.message).filter((m): m is string => Boolean(m))
  const inner = oneLine(serverErrors[0] ?? innermost(e).message ?? text)
  const refused = /ECONNREFUSED ([^\s]+)/.exec(inner) ?? /ECONNREFUSED ([^\s]+)/.exec(text)
  if (refused) return `connection refused (${refused[1]})`
  const notFound = /ENOTFOUND ([^\s]+)/.exec(inner) ?? /ENOTFOUND ([^\s]+)/.exec(text)
  if (notFound) return `unknown host ${notFound[1]}`
  if (/certificate|SSL|TLS|self[- ]signed|EPROTO/i.test(inner) && inner !== text) return `TLS: ${inner}`
  if (/certificate|SSL|TLS|self[- ]signed|EPROTO/i.test(text)) return `TLS: ${text}`
  if (e.name === 'MongoServerSelectionError' && inner !== text) text = `no server available (${inner})`
  else if (e.name === 'MongoServerSelectionError') text = `no server available (${text})`
  const code = e.codeName ?? (typeof e.code === 'number' ? `code ${e.code}` : undefined)
  return code && !text.includes(code) ? `${text} (${code})` : text
}

const oneLine = (text: string | undefined): string =>
  String(text ?? '')
    .replace(/\s*\n\s*/g, ' ')
    .trim()

const innermost = (error: DriverError): DriverError => {
  let e = error
  for (let i = 0; i < 5; i++) {
    const next = e.cause as DriverError | undefined
    if (!next || typeof next !== 'object') break
    e = next
  }
  return e
}
