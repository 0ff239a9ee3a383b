import { readSync } from 'node:fs'

// Reads up to `length` bytes of an open file at `position`: fewer only at its end (a short read
// is retried from where it stopped). The one positional read of tail, spool and the channel.
export const readAt = (fd: number, position: number, length: number): Buffer => {
  const buf = Buffer.allocUnsafe(length)
  let got = 0
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, position + got)
    if (n === 0) break
    got += n
  }
  return got === length ? buf : buf.subarray(0, got)
}
