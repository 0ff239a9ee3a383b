import t from 'tap'
import { readFileSync, readdirSync, statSync } from 'node:fs'
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

// roll --format body, no rolling by time, size or count
const bodyRoll = <S, L>(storage: S, layout: L) => ({
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
})

const line = (seq: number): string => `{"body":"d ${seq}","ts":1700000000000,"src":"d","seq":${seq}}\n`

t.test('a duplicate that arrives while its first copy is being committed is dropped', async (t) => {
  const dir = t.testdir()
  const storage = slowSync(new LocalStorage(dir), 300)
  const layout = compileLayout({ dir, prefix: 'e-', suffix: '.log' })
  const options = bodyRoll(storage, layout)
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

// roll reads its batches in place (lines: 'spans', or 'heads') and unescapes each body into the
// chunk of the bucket the event before went to: events that alternate between buckets, bodies
// with escapes, and a cut line interrupted by another stream must come out as they went in.
const rollAll = async (dir: string, text: string, lines: 'spans' | 'heads' | undefined): Promise<Record<string, string>> => {
  const layout = compileLayout({ dir: `${dir}/%{app}`, prefix: 'e-', suffix: '.log' })
  const options = bodyRoll(new LocalStorage(dir), layout)
  const roller = new Roller(options, new Counters('roll'))
  await roller.start()
  const stream = new PassThrough()
  const input = new EventInput(lines ? { stream, lines } : { stream })
  const running = roller.run(input, new AbortController().signal, 5000)
  stream.end(text)
  if ((await running) !== 0) throw new Error('roll failed')
  const out: Record<string, string> = {}
  for (const app of readdirSync(dir).filter((d) => !d.startsWith('.')))
    out[app] = readdirSync(join(dir, app))
      .filter((f) => f.endsWith('.log'))
      .map((f) => readFileSync(join(dir, app, f), 'utf8'))
      .join('')
  return out
}

t.test('bodies land in their own bucket, read in place or as heads', async (t) => {
  const ev = (app: string, src: string, seq: number, body: string, cont = false): string =>
    JSON.stringify({ body, ts: 1700000000000, headers: { app }, src, seq, ...(cont ? { cont: true } : {}) }) + '\n'
  const want: Record<string, string> = { a: '', b: '' }
  let text = ''
  for (let i = 1; i <= 300; i++) {
    const app = i % 3 === 0 ? 'b' : 'a' // runs of two in a, one in b: the guessed bucket misses often
    const body = `line ${i} "quoted" back\\slash tab\t é ${'x'.repeat(i % 50)}`
    text += ev(app, 's', i, body)
    want[app] += `${body}\n`
  }
  // a cut line of stream x in bucket a, interrupted by stream y in the same bucket: ended there
  text += ev('a', 'x', 1, 'first piece', true) + ev('a', 'y', 1, 'other "line"') + ev('a', 'x', 2, 'rest')
  want.a += 'first piece\nother "line"\nrest\n'
  t.same(await rollAll(t.testdir({ spans: {} }) + '/spans', text, 'spans'), want, 'read in place (spans)')
  t.same(await rollAll(t.testdir({ lines: {} }) + '/lines', text, 'heads'), want, 'read in place (a buffer of heads)')
  t.same(await rollAll(t.testdir({ heads: {} }) + '/heads', text, undefined), want, 'read as heads')
})

// A storage whose fsyncs wait while the gate is closed: a commit stays in flight, its bytes
// written but not durable, until the test opens the gate.
const gatedSync = (storage: LocalStorage) => {
  let open = (): void => undefined
  let gate: Promise<void> = new Promise((r) => (open = r))
  const gated = Object.assign(Object.create(storage) as RollStorage, {
    async create(rel: string): Promise<RollFile> {
      const file = await storage.create(rel)
      return {
        ...file,
        rel: file.rel,
        append: (d: Buffer) => file.append(d),
        truncate: (n: number) => file.truncate(n),
        close: () => file.close(),
        sync: async () => (await gate, file.sync()),
      }
    },
  })
  return { storage: gated, open: () => ((gate = Promise.resolve()), open()) }
}

const until = async (what: () => boolean): Promise<void> => {
  while (!what()) await new Promise((r) => setTimeout(r, 10))
}

t.test('a file is not rolled by size while its committed bytes end inside a cut line whose end is only staged', async (t) => {
  const dir = t.testdir()
  const gated = gatedSync(new LocalStorage(dir))
  const layout = compileLayout({ dir, prefix: 'e-', suffix: '.log' })
  const counters = new Counters('roll')
  const roller = new Roller({ ...bodyRoll(gated.storage, layout), size: 64 * 1024 }, counters)
  await roller.start()
  const stream = new PassThrough()
  const running = roller.run(new EventInput({ stream }), new AbortController().signal, 5000)
  const piece = 'z'.repeat(80 * 1024) // any commit of pieces alone is over --size
  const ev = (seq: number, body: string, cont: boolean): string =>
    JSON.stringify({ body, ts: 1700000000000, src: 's', seq, ...(cont ? { cont: true } : {}) }) + '\n'
  stream.write(ev(1, piece, true) + ev(2, piece, true) + ev(3, piece, true))
  // a commit of the first pieces is in flight (written, its fsync held)...
  const written = (): number =>
    readdirSync(dir)
      .filter((f) => f.startsWith('e-'))
      .reduce((n, f) => n + statSync(join(dir, f)).size, 0)
  await until(() => counters.get('EventReceivedCount') === 3 && written() > 0)
  // ...while the line's last piece and the next line are staged
  stream.write(ev(4, 'end', false) + ev(5, 'after', false))
  await until(() => counters.get('EventReceivedCount') === 5)
  gated.open()
  stream.end()
  t.equal(await running, 0)
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.log'))
    .sort()
  const bodies = files.map((f) => readFileSync(join(dir, f), 'utf8'))
  t.same(
    bodies.filter((b) => !b.endsWith('\n')).map((b) => b.length),
    [],
    'every file ends at a line boundary',
  )
  t.equal(bodies.join(''), `${piece.repeat(3)}end\nafter\n`, 'the line whole, once')
  t.equal(bodies[0], `${piece.repeat(3)}end\n`, 'the long line in one file')
})
