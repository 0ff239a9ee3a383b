import { createRequire } from 'node:module'
import type { ZlibOptions } from 'node:zlib'

// Builtins that only some runs use (TLS, gzip), loaded on first use: each node builtin costs
// start-up CPU and resident memory in every process that imports it (node:tls with its crypto
// about 3 MB of RSS), and ship, collect and roll without --tls/--compress never need them.
// require() keeps the call sites synchronous.
const require = createRequire(import.meta.url)

export const tls = (): typeof import('node:tls') => require('node:tls')
export const zlib = (): typeof import('node:zlib') => require('node:zlib')

const promised =
  (name: 'gzip' | 'gunzip') =>
  (data: Buffer, options: ZlibOptions): Promise<Buffer> =>
    new Promise((resolve, reject) => zlib()[name](data, options, (e, out) => (e ? reject(e) : resolve(out))))

export const gzipAsync = promised('gzip')
export const gunzipAsync = promised('gunzip')
