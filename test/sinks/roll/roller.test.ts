import t from 'tap'
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { EventInput } from '../../../src/core/link/reader.js'
import { Counters } from '../../../src/core/metrics.js'
import { compileLayout } from '../../../src/sinks/roll/layout.js'
import { LocalStorage } from '../../../src/sinks/roll/local-storage.js'
import { Roller } from '../../../src/sinks/roll/roller.js'
import type { RollFile, RollStorage } from '../../../src/sinks/roll/storage.js'

// The engine in-process, on a real directory whose fsyncs are made slow (a slow disk), to hold a
// commit in flight while the next events arrive.

const slowSync = (storage: LocalStorage, ms: number): RollStorage =>
  Object.assign(Object.create(storage) as RollStorage, {
    async create(rel: string): Promise<RollFile> {
      const file = await storage.create(rel)
      return {
        rel: file.rel,
        append: (data: Buffer) => file.append(data),
        sync: async () => {
          await new Promise((r) => setTimeout(r, ms))
          await file.sync()
        },
        truncate: (n: number) => file.truncate(n),
        close: () => file.close(),
      }
    },
  })

const line = (seq: number): string => `{"body":"d ${seq}","ts":1700000000000,"src":"d","seq":${seq}}\n`

t.test('a duplicate that arrives while its first copy is being committed is dropped', async (t) => {
  const dir = t.testdir()
  const storage = slowSync(new LocalStorage(dir), 300)
  const layout = compileLayout({ dir, prefix: 'e-', suffix: '.log' })
  const options = {
    storage,
    layout,
    format: 'body' as const,
    gzip: false,
    interval: 0,
    size: 0,
    count: 0,
    idle: 0,
    maxOpen: 10,
    horizon: 86_400_000,
    useLocalTime: false,
  }
  const roller = new Roller(options, new Counters('roll'))
  await roller.start()
  const stream = new PassThrough()
  const input = new EventInput({ stream })
  const running = roller.run(input, new AbortController().signal, 5000)
  stream.write(Array.from({ length: 50 }, (_, i) => line(i + 1)).join(''))
  await new Promise((r) => setTimeout(r, 100)) // the first commit now waits in its slow fsync
  stream.write(Array.from({ length: 60 }, (_, i) => line(i + 1)).join(''))
  stream.end()
  t.equal(await running, 0)
  const files = readdirSync(dir).filter((f) => f.endsWith('.log'))
  const lines = files.flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n').slice(0, -1))
  t.same(
    lines.map((l) => Number(l.slice(2))).sort((a, b) => a - b),
    Array.from({ length: 60 }, (_, i) => i + 1),
    'each seq once',
  )
})
