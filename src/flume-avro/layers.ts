import type { Socket } from 'node:net'
import { Duplex } from 'node:stream'
import { TLSSocket, connect as tlsConnect, createSecureContext } from 'node:tls'
import { constants as zlibConstants, createDeflate, createInflate, type Deflate, type Inflate } from 'node:zlib'

// Flume's Netty pipeline is inflater, deflater, ssl, frame codec: with both options the wire
// carries zlib(TLS(frames)). Nothing negotiates either option; both ends are configured alike.

// compression-type = deflate: one zlib stream per direction for the whole connection, each write
// ended by a sync flush so the peer can decode it at once (as JZlibEncoder does).
export class DeflateLink extends Duplex {
  private readonly inflate: Inflate
  private readonly deflate: Deflate

  constructor(
    readonly socket: Socket,
    level = 6,
  ) {
    super()
    this.inflate = createInflate()
    this.deflate = createDeflate({ level })
    socket.pipe(this.inflate)
    this.deflate.pipe(socket)
    this.inflate.on('data', (d: Buffer) => {
      if (!this.push(d)) this.inflate.pause()
    })
    this.inflate.on('end', () => this.push(null))
    this.inflate.on('error', (e) =>
      this.destroy(new Error(`not a deflate stream (is compression-type = deflate set on one end only?): ${e.message}`)),
    )
    socket.on('error', (e) => this.destroy(e))
    socket.on('close', () => this.destroy())
  }

  override _read(): void {
    this.inflate.resume()
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (e?: Error | null) => void): void {
    this.deflate.write(chunk)
    this.deflate.flush(zlibConstants.Z_SYNC_FLUSH, () => done())
  }

  override _writev(chunks: { chunk: Buffer }[], done: (e?: Error | null) => void): void {
    for (const c of chunks) this.deflate.write(c.chunk)
    this.deflate.flush(zlibConstants.Z_SYNC_FLUSH, () => done())
  }

  // the zlib stream is finished before the socket closes, as Flume's client does
  override _final(done: (e?: Error | null) => void): void {
    this.deflate.end(() => done())
  }

  override _destroy(error: Error | null, done: (e?: Error | null) => void): void {
    this.inflate.destroy()
    this.deflate.destroy()
    this.socket.destroy()
    done(error)
  }
}

export interface LinkOptions {
  deflate: boolean
  level?: number
}

// An accepted connection → the stream frames are read from and written to.
export const serverLink = (socket: Socket, options: LinkOptions & { tls?: { cert: Buffer; key: Buffer } }): Duplex => {
  const under: Duplex = options.deflate ? new DeflateLink(socket, 6) : socket
  if (!options.tls) return under
  return new TLSSocket(under as Socket, {
    isServer: true,
    secureContext: createSecureContext({ cert: options.tls.cert, key: options.tls.key }),
  })
}

// A client connection → the stream for frames; `ready` is emitted once it can carry them.
export const clientLink = (
  socket: Socket,
  options: LinkOptions & { tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer }; servername?: string },
): { link: Duplex; readyEvent: string } => {
  const under: Duplex = options.deflate ? new DeflateLink(socket, options.level ?? 6) : socket
  if (!options.tls) return { link: under, readyEvent: 'connect' }
  const link = tlsConnect({
    socket: under,
    servername: options.servername,
    ca: options.tls.ca,
    cert: options.tls.cert,
    key: options.tls.key,
  })
  return { link, readyEvent: 'secureConnect' }
}
