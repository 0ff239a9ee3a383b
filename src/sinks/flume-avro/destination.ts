import { UsageError } from '../../core/errors.js'
import { parseHostPort } from '../../core/units.js'
import type { TcpDestination } from '../tcp/destination.js'

// flume+avro://HOST:PORT[,HOST:PORT...]: Flume avro sources, in priority order. The scheme given
// once covers the comma-separated list after it, as Flume lists a sink group's sinks.
const SCHEME = /^flume\+([a-z]+):\/\/(.*)$/i

export const isFlumeUrl = (text: string): boolean => SCHEME.test(text.trim())

export const parseFlumeDestinations = (args: string[], ssl: boolean): TcpDestination[] => {
  const out: TcpDestination[] = []
  for (const arg of args) {
    const m = SCHEME.exec(arg.trim())
    if (!m) throw new UsageError(`destination '${arg}': flume+avro:// destinations cannot be mixed with other kinds`)
    if (m[1]!.toLowerCase() === 'thrift')
      throw new UsageError(`destination '${arg}': Flume's thrift protocol is not supported yet; use Flume's avro source (flume+avro://)`)
    if (m[1]!.toLowerCase() !== 'avro') throw new UsageError(`destination '${arg}': expected flume+avro://HOST:PORT[,HOST:PORT...]`)
    for (const piece of m[2]!.split(',')) {
      const text = piece
        .trim()
        .replace(/^flume\+avro:\/\//i, '')
        .replace(/\/$/, '')
      if (!text) continue
      const { host, port } = parseHostPort(text, `destination '${arg}'`)
      if (port === 0) throw new UsageError(`destination '${arg}': port 0 is not a destination`)
      out.push({ kind: ssl ? 'tls' : 'tcp', host, port, name: `flume+avro://${text}` })
    }
  }
  if (!out.length) throw new UsageError('missing destination: tsf ship flume+avro://HOST:PORT[,HOST:PORT...]')
  return out
}
