import t from 'tap'
import { describeMongoError, isAuthError, isRetryable } from '../../../src/sinks/mongodb/errors.js'

const named = (name: string, fields: Record<string, unknown>): Error =>
  Object.assign(Object.defineProperty(new Error(String(fields.message ?? name)), 'name', { value: name }), fields)

t.test('one line, the cause first', async (t) => {
  const refused = named('MongoServerSelectionError', {
    message: 'connect ECONNREFUSED 127.0.0.1:1',
    reason: { servers: new Map([['127.0.0.1:1', { error: { message: 'connect ECONNREFUSED 127.0.0.1:1' } }]]) },
  })
  t.equal(describeMongoError(refused), 'connection refused (127.0.0.1:1)')
  t.ok(isRetryable(refused))
  t.equal(
    describeMongoError(named('MongoServerSelectionError', { message: 'getaddrinfo ENOTFOUND nohost.invalid' })),
    'unknown host nohost.invalid',
  )
  const tls = named('MongoServerSelectionError', {
    message: 'Server selection timed out',
    reason: { servers: new Map([['h', { error: { message: 'self-signed certificate in certificate chain' } }]]) },
  })
  t.equal(describeMongoError(tls), 'TLS: self-signed certificate in certificate chain')
  t.equal(
    describeMongoError(named('MongoServerSelectionError', { message: 'Server selection timed out after 5000 ms' })),
    'no server available (Server selection timed out after 5000 ms)',
  )
  t.equal(
    describeMongoError(named('MongoServerError', { message: 'not primary', code: 10107, codeName: 'NotWritablePrimary' })),
    'not primary (NotWritablePrimary)',
  )
  t.equal(describeMongoError(named('MongoServerError', { message: 'a\n  b', code: 2 })), 'a b (code 2)')
  t.equal(describeMongoError('plain'), 'plain')
})

t.test('authentication failures are told apart: no retry fixes them', async (t) => {
  const auth = named('MongoServerError', { message: 'Authentication failed.', code: 18, codeName: 'AuthenticationFailed' })
  t.ok(isAuthError(auth))
  t.equal(describeMongoError(auth), 'authentication failed: Authentication failed.')
  const wrapped = named('MongoServerSelectionError', { message: 'x', cause: auth })
  t.ok(isAuthError(wrapped), 'also inside the driver’s wrappers')
  t.ok(isAuthError(named('MongoMissingCredentialsError', { message: 'no password' })))
  t.notOk(isAuthError(named('MongoNetworkError', { message: 'reset' })))
  const noAuth = named('MongoServerError', {
    message: "no such command: 'saslStart'",
    code: 59,
    codeName: 'CommandNotFound',
    hasErrorLabel: (l: string) => l === 'HandshakeError',
  })
  t.ok(isAuthError(noAuth), 'credentials for a server without authentication: its handshake has no saslStart')
  t.notOk(
    isAuthError(named('MongoServerError', { message: 'no such command', code: 59 })),
    'an unknown command outside the handshake is not',
  )
})

t.test('what is worth another try', async (t) => {
  for (const name of [
    'MongoNetworkError',
    'MongoNetworkTimeoutError',
    'MongoServerSelectionError',
    'MongoPoolClearedError',
    'MongoWriteConcernError',
  ])
    t.ok(isRetryable(named(name, {})), name)
  t.ok(isRetryable(named('MongoServerError', { code: 91 })), 'ShutdownInProgress')
  t.ok(isRetryable(named('MongoServerError', { hasErrorLabel: (l: string) => l === 'RetryableWriteError' })))
  t.notOk(isRetryable(named('MongoServerError', { code: 2, message: 'BadValue' })))
  t.notOk(isRetryable(named('MongoInvalidArgumentError', { message: 'Document is larger than the maximum size' })))
})
