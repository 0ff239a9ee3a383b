import { createHash } from 'node:crypto'
import { AvroError, type AvroReader, longBytes, stringBytes } from './avro.js'
import { FLUME_PROTOCOL_TEXT } from './protocol-text.js'

// The Avro IPC handshake (org.apache.avro.ipc Requestor/Responder), fixed to Flume's protocol.
// Only the first request of a connection carries a HandshakeRequest and only its answer a
// HandshakeResponse; both sides exchange the MD5 of the protocol text instead of the text itself.

export const FLUME_PROTOCOL_HASH = createHash('md5').update(FLUME_PROTOCOL_TEXT, 'utf8').digest()

export const enum HandshakeMatch {
  both = 0,
  client = 1,
  none = 2,
}

export interface HandshakeRequest {
  clientHash: Buffer
  clientProtocol?: string
  serverHash: Buffer
}

export interface HandshakeResponse {
  match: HandshakeMatch
  serverProtocol?: string
  serverHash?: Buffer
}

const NULL = Buffer.from([0])
const BRANCH_1 = Buffer.from([2])

// HandshakeRequest { clientHash: MD5, clientProtocol: union{null,string}, serverHash: MD5,
// meta: union{null, map<bytes>} }, as Flume's sink writes it: meta is an empty map.
export const encodeHandshakeRequest = (withText: boolean): Buffer =>
  Buffer.concat([
    FLUME_PROTOCOL_HASH,
    withText ? Buffer.concat([BRANCH_1, stringBytes(FLUME_PROTOCOL_TEXT)]) : NULL,
    FLUME_PROTOCOL_HASH,
    Buffer.from([2, 0]),
  ])

export const decodeHandshakeRequest = (r: AvroReader): HandshakeRequest => {
  const clientHash = r.fixed(16)
  const clientProtocol = unionBranch(r) ? r.string() : undefined
  const serverHash = r.fixed(16)
  if (unionBranch(r)) r.skipBytesMap()
  return { clientHash, clientProtocol, serverHash }
}

// HandshakeResponse { match: enum{BOTH,CLIENT,NONE}, serverProtocol: union{null,string},
// serverHash: union{null,MD5}, meta: union{null,map<bytes>} }
export const encodeHandshakeResponse = (match: HandshakeMatch): Buffer => {
  if (match === HandshakeMatch.both) return Buffer.from([0, 0, 0, 0]) // what a Flume source answers
  return Buffer.concat([longBytes(match), BRANCH_1, stringBytes(FLUME_PROTOCOL_TEXT), BRANCH_1, FLUME_PROTOCOL_HASH, NULL])
}

export const decodeHandshakeResponse = (r: AvroReader): HandshakeResponse => {
  const match = r.long()
  if (match !== HandshakeMatch.both && match !== HandshakeMatch.client && match !== HandshakeMatch.none)
    throw new AvroError(`handshake answer with an unknown match ${match}`)
  const serverProtocol = unionBranch(r) ? r.string() : undefined
  const serverHash = unionBranch(r) ? Buffer.from(r.fixed(16)) : undefined
  if (unionBranch(r)) r.skipBytesMap()
  return { match, serverProtocol, serverHash }
}

const unionBranch = (r: AvroReader): number => {
  const b = r.long()
  if (b !== 0 && b !== 1) throw new AvroError(`a union branch ${b} where the handshake has two`)
  return b
}

// What a server answers a HandshakeRequest, the way Java's Responder decides it: a client hash it
// knows (Flume's, or one whose text came earlier) is served; an unknown hash without its text gets
// NONE and the protocol, and the client resends with its text. knownHashes learns texts as they come.
export const serverMatch = (req: HandshakeRequest, knownHashes: Set<string>): HandshakeMatch => {
  const client = req.clientHash.toString('hex')
  if (!req.clientHash.equals(FLUME_PROTOCOL_HASH) && !knownHashes.has(client)) {
    if (req.clientProtocol === undefined) return HandshakeMatch.none
    knownHashes.add(client)
  }
  return req.serverHash.equals(FLUME_PROTOCOL_HASH) ? HandshakeMatch.both : HandshakeMatch.client
}
