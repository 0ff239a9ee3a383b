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
