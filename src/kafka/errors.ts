// kafkajs' errors as tsf sees them: the two a retry cannot help (KafkaRejected, KafkaAuthFailed),
// their types, and one line that says the cause first.

// Kafka's answer to a send that cannot succeed however often it is retried.
export class KafkaRejected extends Error {
  constructor(
    message: string,
    readonly type: string,
  ) {
    super(message)
  }
}

// The brokers refused our SASL login (wrong user, password or mechanism): retrying with the same
// credentials cannot help.
export class KafkaAuthFailed extends KafkaRejected {
  constructor(message: string) {
    super(message, 'SASL_AUTHENTICATION_FAILED')
  }
}

interface KafkaJsError {
  name?: string
  code?: string
  broker?: string
  message?: string
  type?: string
  retriable?: boolean
  originalError?: unknown
  cause?: unknown
}

// The innermost error of kafkajs' wrappers (retries exceeded → connection error → ECONNREFUSED).
const innermost = (error: unknown): KafkaJsError => {
  let e = error as KafkaJsError
  for (let i = 0; i < 5 && e && typeof e === 'object'; i++) {
    const next = (e.originalError ?? e.cause) as KafkaJsError | undefined
    if (!next || typeof next !== 'object') break
    e = next
  }
  return e
}

// A refused SASL login, however kafkajs wrapped it.
export const isAuthFailure = (error: unknown): boolean => {
  let e = error as KafkaJsError
  for (let i = 0; i < 6 && e && typeof e === 'object'; i++) {
    if (
      e.name === 'KafkaJSSASLAuthenticationError' ||
      e.type === 'SASL_AUTHENTICATION_FAILED' ||
      e.type === 'ILLEGAL_SASL_STATE' ||
      e.type === 'UNSUPPORTED_SASL_MECHANISM'
    )
      return true
    e = (e.originalError ?? e.cause) as KafkaJsError
  }
  return false
}

export const kafkaErrorType = (error: unknown): string | undefined => {
  let e = error as KafkaJsError
  for (let i = 0; i < 6 && e && typeof e === 'object'; i++) {
    if (typeof e.type === 'string') return e.type
    e = (e.originalError ?? e.cause) as KafkaJsError
  }
  return undefined
}

// The broker a kafkajs connection error names, wherever it is in the chain.
const brokerOf = (error: unknown): string | undefined => {
  let e = error as KafkaJsError
  for (let i = 0; i < 6 && e && typeof e === 'object'; i++) {
    if (typeof e.broker === 'string') return e.broker
    e = (e.originalError ?? e.cause) as KafkaJsError
  }
  return undefined
}

// Node's codes for a certificate it does not trust, and for a TLS handshake that went wrong.
const UNTRUSTED =
  /^(SELF_SIGNED_CERT_IN_CHAIN|DEPTH_ZERO_SELF_SIGNED_CERT|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|UNABLE_TO_VERIFY_LEAF_SIGNATURE)$/
const TLS_CODE = /CERT|SSL|TLS|SIGNATURE/

// "TLS: self-signed certificate in certificate chain (127.0.0.1:9093; ...)" for a failed handshake.
const describeTlsError = (error: unknown): string | undefined => {
  let e = error as KafkaJsError
  const broker = brokerOf(error)
  for (let i = 0; i < 6 && e && typeof e === 'object'; i++) {
    if (typeof e.code === 'string' && TLS_CODE.test(e.code)) {
      const text = String(e.message ?? '').replace(/^Connection error: /, '')
      const hint = UNTRUSTED.test(e.code)
        ? "; --kafka-ca must name the CA that signed the brokers' certificates"
        : /WRONG_VERSION|PACKET_LENGTH/.test(e.code)
          ? '; is this a TLS listener?'
          : ''
      return `TLS: ${text}${broker ? ` (${broker}${hint})` : hint ? ` (${hint.slice(2)})` : ''}`
    }
    // a TLS client on a listener that does not speak TLS: the broker hangs up on the hello
    if (/before secure TLS connection was established/.test(String(e.message))) {
      return `TLS: the broker closed the connection during the TLS handshake (${broker ? `${broker}; ` : ''}is this a TLS listener?)`
    }
    e = (e.originalError ?? e.cause) as KafkaJsError
  }
  return undefined
}

// One line, the cause first: "connection refused (127.0.0.1:1)", "MESSAGE_TOO_LARGE: ...".
export const describeKafkaError = (error: unknown): string => {
  if (error instanceof KafkaRejected) return error.message
  const tls = describeTlsError(error)
  if (tls) return tls
  const e = innermost(error)
  const text = String(e?.message ?? error)
  const refused = /ECONNREFUSED ([^\s]+)/.exec(text)
  if (refused) return `connection refused (${refused[1]})`
  const notFound = /ENOTFOUND ([^\s]+)/.exec(text)
  if (notFound) return `unknown host ${notFound[1]}`
  if (/Connection timeout/i.test(text))
    return `connection timed out${/to ([^\s]+)/.exec(text)?.[1] ? ` (${/to ([^\s]+)/.exec(text)![1]})` : ''}`
  const type = kafkaErrorType(error)
  return type && !text.includes(type) ? `${type}: ${text}` : text
}
