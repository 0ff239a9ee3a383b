import type { Socket } from 'node:net'

// The part of a socket's handle that reads from the kernel (node's TCP wrap).
interface ReadHandle {
  reading?: boolean
  readStart?: () => number
  readStop?: () => number
}

const handleOf = (socket: Socket): ReadHandle | undefined => {
  // TLS has its own reading machinery above the TCP handle: there only pause() is used
  if ((socket as { encrypted?: boolean }).encrypted) return undefined
  const handle = (socket as unknown as { _handle?: ReadHandle | null })._handle
  return handle && typeof handle.readStop === 'function' && typeof handle.readStart === 'function' ? handle : undefined
}

// While held, the stream's asks for more (net.Socket#_read, which starts the handle's reads again)
// wait for releaseReads: the stream asks again right after each read it was given, until its
// buffer is full, so readStop alone let one more read (up to 64 KiB) in.
const deferRead = function (this: Socket): void {}

// Stops a socket's reads at once, so what its sender sends next waits in the kernel. pause() alone
// stops the 'data' events only: node goes on to read once more (up to 64 KiB) into its buffer, so
// 1,000 paused senders held ~64 MB. This is what node's own pause() does for sockets made with
// `onread` (net.Socket.pause), which a server's sockets cannot be.
export const holdReads = (socket: Socket): void => {
  socket.pause()
  const handle = handleOf(socket)
  if (!handle || socket.destroyed) return
  ;(socket as unknown as { _read: unknown })._read = deferRead
  if (handle.reading) {
    handle.reading = false
    handle.readStop!()
  }
}

// Reads again after holdReads (or pause(), or a server made with pauseOnConnect), as
// net.Socket.resume does for `onread` sockets.
export const releaseReads = (socket: Socket): void => {
  const s = socket as unknown as { _read: unknown }
  if (Object.hasOwn(s, '_read')) delete s._read
  socket.resume()
  const handle = handleOf(socket)
  if (handle && handle.reading === false && !socket.destroyed && !socket.connecting && !socket.readableEnded) {
    handle.reading = true
    handle.readStart!()
  }
}
