// What the tsf ship → Flume collector tests share: a Flume collector's properties (avro source →
// channel → file_roll with the header_and_text serializer), reading what file_roll wrote, the log.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { rolledText } from '../../fixtures/flume.js'
import { until } from '../../fixtures/tcp-helpers.js'

export const READY = /Avro source r1 started/

// file_roll does not make its directory
export const collectorConf = (dir: string, port: number, opts: { channel?: string; source?: string } = {}): string => (
  mkdirSync(join(dir, 'rolled'), { recursive: true }),
  `
c.sources = r1
c.channels = c1
c.sinks = k1
c.sources.r1.type = avro
c.sources.r1.bind = 127.0.0.1
c.sources.r1.port = ${port}
c.sources.r1.channels = c1
${opts.source ?? ''}
${
  opts.channel ??
  `c.channels.c1.type = file
c.channels.c1.checkpointDir = ${dir}/fc/checkpoint
c.channels.c1.dataDirs = ${dir}/fc/data`
}
c.sinks.k1.type = file_roll
c.sinks.k1.channel = c1
c.sinks.k1.sink.directory = ${dir}/rolled
c.sinks.k1.sink.rollInterval = 0
c.sinks.k1.sink.serializer = header_and_text
`
)

export interface Rolled {
  headers: Record<string, string>
  body: string
}

// header_and_text writes "{k=v, k=v} body"
export const parse = (text: string): Rolled[] =>
  text
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const m = /^\{(.*?)\} (.*)$/.exec(line)
      if (!m) return { headers: {}, body: line }
      const headers: Record<string, string> = {}
      for (const kv of m[1]!.split(', ')) {
        const i = kv.indexOf('=')
        if (i > 0) headers[kv.slice(0, i)] = kv.slice(i + 1)
      }
      return { headers, body: m[2]! }
    })

export const lineN = (i: number): string => `line ${i} GET /index.html?id=${i} 200`
export const writeLog = (dir: string, n: number): string => {
  const file = join(dir, 'app.log')
  writeFileSync(file, Array.from({ length: n }, (_, i) => lineN(i + 1) + '\n').join(''))
  return file
}
export const allLines = (n: number): string[] => Array.from({ length: n }, (_, i) => lineN(i + 1))

// what file_roll wrote, once it holds n lines: Flume answers OK on its channel's commit, and its
// file_roll sink drains the channel later (backing off up to 5 s when it found it empty)
export const delivered = async (dir: string, n: number): Promise<Rolled[]> => {
  const read = (): Rolled[] => parse(rolledText(join(dir, 'rolled')))
  await until(
    () => read().length >= n,
    60_000,
    () => `${n} lines in file_roll's output (have ${read().length})`,
  )
  return read()
}
