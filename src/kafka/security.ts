// How tsf reaches brokers that require TLS and/or SASL: what the --kafka-* options of ship and
// collect turn into (src/commands/kafka-options.ts), handed to the client (src/kafka/client.ts).

export const SASL_MECHANISMS = ['plain', 'scram-sha-256', 'scram-sha-512'] as const
export type SaslMechanism = (typeof SASL_MECHANISMS)[number]

export interface KafkaSecurity {
  // TLS to every broker (Kafka's SSL and SASL_SSL listeners); certificates always verified
  tls?: {
    // CA certificates that sign the brokers' certificates (default: Node's built-in CAs)
    ca?: Buffer
    // client certificate and key, for listeners with ssl.client.auth=required
    cert?: Buffer
    key?: Buffer
  }
  sasl?: {
    mechanism: SaslMechanism
    username: string
    password: string
  }
}

// What a message may say about the security in use (never the password).
export const describeSecurity = (security: KafkaSecurity | undefined): string => {
  if (!security?.sasl) return security?.tls ? 'TLS' : 'PLAINTEXT'
  return `${security.sasl.mechanism.toUpperCase()} as '${security.sasl.username}'${security.tls ? ' over TLS' : ''}`
}
