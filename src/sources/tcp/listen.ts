import type { Socket as UdpSocket } from 'node:dgram'
import { once } from 'node:events'
import type { Server } from 'node:net'
import { TsfError, describeSystemError } from '../../core/errors.js'
import { warn } from '../../core/log.js'

// Starts one of collect's listeners (--listen, --flume-avro, --syslog tcp:// and udp://) and waits
// until it listens. A listener that cannot start (address in use, no permission, unknown host) is
// one line naming the option that asked for it: `where`, which already names the address, so the
// error's own address is left out. Errors after that are said on stderr under `later`.
export const listenOn = async (server: Server | UdpSocket, listen: () => void, where: string, later = where): Promise<void> => {
  try {
    listen()
    await Promise.race([once(server, 'listening'), once(server, 'error').then(([e]) => Promise.reject(e))])
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    throw new TsfError(
      `${where}: ${describeSystemError(typeof err?.code === 'string' ? Object.assign(new Error(err.message), { code: err.code }) : e)}`,
    )
  }
  server.on('error', (e: Error) => warn(`${later}: ${describeSystemError(e)}`))
}
