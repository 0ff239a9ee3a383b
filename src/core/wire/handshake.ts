import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'

// The text handshake that opens every ship→collect connection (docs/wire-protocol.md):
//   client  TSF/1 HELLO nonce=<cn> compress=gzip
//   server  TSF/1 CHALLENGE nonce=<sn> auth=token|none compress=gzip|none
//   client  TSF/1 AUTH proof=<HMAC-SHA256(token, "tsf/1 client <cn> <sn>")|->
//   server  TSF/1 OK proof=<HMAC-SHA256(token, "tsf/1 server <cn> <sn>")|->
// or, at any step, server  TSF/1 REFUSED <reason>  and the connection closes.
// The token never crosses the wire; both nonces are fresh, so a recorded proof is worthless, and the
// server proves it knows the token too.
export const WIRE_VERSION = 1
export const MAGIC = 'TSF/'
export const MAX_HANDSHAKE_LINE = 512

export const newNonce = (): string => randomBytes(18).toString('base64url')

// What the proofs bind besides the nonces: whether frames carry MACs (so a relay cannot strip the
// offer unseen) and the agent name a sender claims.
export interface ProofTerms {
  mac?: boolean
  agent?: string
}

const proof = (token: Buffer, role: 'client' | 'server', cn: string, sn: string, terms: ProofTerms): string => {
  let text = `tsf/${WIRE_VERSION} ${role} ${cn} ${sn}`
  // the older form (no MAC, no agent) stays as it was, so older ships and collectors still agree
  if (terms.mac) text += ' mac=hmac-sha256'
  if (terms.agent) text += ` agent=${terms.agent}`
  return createHmac('sha256', token).update(text).digest('base64url')
}

export const clientProof = (token: Buffer, cn: string, sn: string, terms: ProofTerms = {}): string => proof(token, 'client', cn, sn, terms)
export const serverProof = (token: Buffer, cn: string, sn: string, terms: ProofTerms = {}): string => proof(token, 'server', cn, sn, terms)

// in secrets.ts (no node:crypto there: ship's and collect's --help load it); kept here for the wire
export { agentNamePattern, tokenFromText } from './secrets.js'

export const proofMatches = (expected: string, got: string): boolean => {
  const a = Buffer.from(expected)
  const b = Buffer.from(got)
  return a.length === b.length && timingSafeEqual(a, b)
}

export interface HandshakeLine {
  version: number
  verb: string
  fields: Record<string, string>
  rest: string
}

const linePattern = /^TSF\/(\d{1,4}) ([A-Z]+)(?: (.*))?$/

// "TSF/1 VERB k=v k=v" → parts; undefined when it is not a handshake line at all.
export const parseHandshakeLine = (line: string): HandshakeLine | undefined => {
  const m = linePattern.exec(line.replace(/\r$/, ''))
  if (!m) return undefined
  const rest = m[3] ?? ''
  const fields: Record<string, string> = {}
  for (const word of rest.split(' ')) {
    const at = word.indexOf('=')
    if (at > 0) fields[word.slice(0, at)] = word.slice(at + 1)
  }
  return { version: Number(m[1]), verb: m[2]!, fields, rest }
}

// A hello always offers frame MACs; older collectors ignore the field.
// report=1: the client offers agent report frames (report.ts); a server that takes them answers
// report=1. Peers that predate it ignore the field, and then no report is ever sent.
export const helloLine = (cn: string, gzip: boolean, report = false): string =>
  `TSF/${WIRE_VERSION} HELLO nonce=${cn} compress=${gzip ? 'gzip' : ''} mac=hmac-sha256${report ? ' report=1' : ''}\n`
export const challengeLine = (sn: string, token: boolean, gzip: boolean, mac: boolean, report = false): string =>
  `TSF/${WIRE_VERSION} CHALLENGE nonce=${sn} auth=${token ? 'token' : 'none'} compress=${gzip ? 'gzip' : 'none'} mac=${mac ? 'hmac-sha256' : 'none'}${report ? ' report=1' : ''}\n`
export const authLine = (p: string | undefined, agent?: string): string =>
  `TSF/${WIRE_VERSION} AUTH proof=${p ?? '-'}${agent ? ` agent=${agent}` : ''}\n`
export const okLine = (p: string | undefined): string => `TSF/${WIRE_VERSION} OK proof=${p ?? '-'}\n`
export const refusedLine = (reason: string): string => `TSF/${WIRE_VERSION} REFUSED ${reason.replace(/\n/g, ' ')}\n`

const noncePattern = /^[A-Za-z0-9_-]{16,64}$/
export const validNonce = (n: string | undefined): n is string => typeof n === 'string' && noncePattern.test(n)

// Reads handshake lines off the front of a byte stream; what follows the last line is frames.
export class LineReader {
  private buf: Buffer = Buffer.alloc(0)
  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk
  }
  // the next complete line, or undefined; throws when a line grows past the limit
  next(): string | undefined {
    const nl = this.buf.indexOf(10)
    if (nl === -1) {
      if (this.buf.length > MAX_HANDSHAKE_LINE) throw new Error(`handshake line longer than ${MAX_HANDSHAKE_LINE} bytes`)
      return undefined
    }
    if (nl > MAX_HANDSHAKE_LINE) throw new Error(`handshake line longer than ${MAX_HANDSHAKE_LINE} bytes`)
    const line = this.buf.toString('utf8', 0, nl)
    this.buf = this.buf.subarray(nl + 1)
    return line
  }
  // bytes after the handshake lines read so far
  rest(): Buffer {
    const r = this.buf
    this.buf = Buffer.alloc(0)
    return r
  }
  get buffered(): Buffer {
    return this.buf
  }
}
