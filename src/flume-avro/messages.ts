import { AvroError, type AvroReader, stringBytes } from './avro.js'

// Calls and answers of AvroSourceProtocol after the handshake:
//   request  = call metadata map<bytes> (empty from Flume), message name, parameters
//   response = call metadata, error flag, then Status (OK, FAILED, UNKNOWN) or an error string

export const enum FlumeStatus {
  ok = 0,
  failed = 1,
  unknown = 2,
}

export const STATUS_NAMES = ['OK', 'FAILED', 'UNKNOWN']

// empty metadata, no error, the status as a zig-zag enum index: OK is 00 00 00, FAILED 00 00 02
export const statusAnswer = (status: FlumeStatus): Buffer => Buffer.from([0, 0, status * 2])

// a system error: union branch 0 (string), as Java's Responder writes an AvroRuntimeException
export const errorAnswer = (message: string): Buffer => Buffer.concat([Buffer.from([0, 1, 0]), stringBytes(message)])

// metadata and name of a request, before its parameters
export const callHead = (name: string): Buffer => Buffer.concat([Buffer.from([0]), stringBytes(name)])
export const APPEND_BATCH_HEAD = callHead('appendBatch')

export type Answer = { status: FlumeStatus } | { error: string }

export const decodeAnswer = (r: AvroReader): Answer => {
  r.skipBytesMap()
  const flag = r.fixed(1)[0]
  if (flag === 0) {
    const status = r.long()
    if (status < 0 || status > 2) throw new AvroError(`an answer with an unknown status ${status}`)
    return { status }
  }
  if (flag !== 1) throw new AvroError(`an answer with an error flag ${flag}`)
  const branch = r.long()
  // a declared error would be another branch; AvroSourceProtocol declares none
  return { error: branch === 0 ? r.string() : `an error of union branch ${branch}` }
}
