import { UsageError } from '../../core/errors.js'
import { parseHostPort } from '../../core/units.js'

// --syslog tcp://HOST:PORT | udp://HOST:PORT, parsed while the options are: on its own so that
// `tsf collect --help` does not load the listeners and the syslog parser (syslog-listeners.ts).

export interface SyslogAddress {
  proto: 'tcp' | 'udp'
  host: string
  port: number
}

export const parseSyslogAddress = (text: string): SyslogAddress => {
  const m = /^(tcp|udp):\/\/(.+)$/i.exec(text.trim())
  if (!m) throw new UsageError(`--syslog: expected tcp://HOST:PORT or udp://HOST:PORT, got '${text}'`)
  return { proto: m[1]!.toLowerCase() as 'tcp' | 'udp', ...parseHostPort(m[2]!, '--syslog') }
}
