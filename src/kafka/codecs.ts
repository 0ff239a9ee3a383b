// The compression codecs kafkajs leaves to plug-ins (it has only gzip built in), registered before
// any client is made so that consumers read batches other producers compressed with snappy, lz4 or
// zstd, and ship can write snappy. Each library loads the first time a batch needs it.
import { createRequire } from 'node:module'
import { lz4Decompress } from './lz4.js'

const require = createRequire(import.meta.url)

type Codec = { compress: (encoder: { buffer: Buffer }) => Promise<Buffer>; decompress: (buffer: Buffer) => Promise<Buffer> }
type KafkaJs = { CompressionTypes: Record<string, number>; CompressionCodecs: Record<number, () => Codec> }

const notWritten = (name: string) => async (): Promise<Buffer> => {
  throw new Error(`${name} compression is not offered by tsf (it reads ${name} batches only)`)
}

export const registerCodecs = (kafkajs: KafkaJs): void => {
  const { CompressionTypes: types, CompressionCodecs: codecs } = kafkajs
  // kafkajs-snappy and its snappyjs: pure JavaScript; the xerial framing of Java producers too
  codecs[types.Snappy!] = () => (require('kafkajs-snappy') as () => Codec)()
  codecs[types.LZ4!] = () => ({ compress: notWritten('lz4'), decompress: async (buffer) => lz4Decompress(buffer) })
  // fzstd: a pure-JavaScript zstd decompressor (Node 20 has no zstd in zlib)
  codecs[types.ZSTD!] = () => ({
    compress: notWritten('zstd'),
    decompress: async (buffer) => {
      const { decompress } = require('fzstd') as { decompress: (data: Uint8Array) => Uint8Array }
      const out = decompress(buffer)
      return Buffer.from(out.buffer, out.byteOffset, out.byteLength)
    },
  })
}
