import { UsageError } from '../../core/errors.js'
import { parseHostPort } from '../../core/units.js'

// A ship destination as the user wrote it. TCP and TLS collectors today; a kafka:// destination
// gets its own kind and sink beside this one.
export interface TcpDestination {
  kind: 'tcp' | 'tls'
  host: string
  port: number
  // as written, for messages
  name: string
}

export type Destination = TcpDestination

const schemePattern = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i

export const parseDestination = (text: string): Destination => {
  const m = schemePattern.exec(text.trim())
  const scheme = m ? m[1]!.toLowerCase() : 'tcp'
  const rest = m ? m[2]! : text.trim()
  if (scheme === 'kafka')
    throw new UsageError(`destination '${text}': a kafka:// destination goes alone: tsf ship kafka://BROKER[,BROKER...]/TOPIC`)
  if (scheme !== 'tcp' && scheme !== 'tls')
    throw new UsageError(`destination '${text}': expected host:port, tcp://host:port or tls://host:port`)
  const { host, port } = parseHostPort(rest.replace(/\/$/, ''), `destination '${text}'`)
  if (port === 0) throw new UsageError(`destination '${text}': port 0 is not a destination`)
  return { kind: scheme, host, port, name: text.trim() }
}

// "a:1,b:2" (and repeated arguments) → destinations in priority order
export const parseDestinations = (args: string[]): Destination[] => {
  const out = args
    .flatMap((a) => a.split(','))
    .filter((s) => s.trim() !== '')
    .map(parseDestination)
  if (out.length === 0) throw new UsageError('missing destination: tsf ship HOST:PORT[,HOST:PORT...]')
  return out
}
