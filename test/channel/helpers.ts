// Shared by the channel's process tests: the commands they run and what they check.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { encodeBlock, encodeRecords } from '../../src/channel/record.js'
import { fixture, root, sh, tsf, until, type Running } from '../fixtures/procs.js'

export { fixture, root, tsf, until }
export const replayWriter = `node ${root}test/channel/fixtures/replay-writer.mjs`
export const linkReader = fixture('link-reader.mjs')

// The `seq` of every whole event line in a reader's output file, in order (a line being written
// right now is not whole yet).
export const seqsIn = (path: string): number[] =>
  existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .slice(0, -1)
        .map((l) => (JSON.parse(l) as { seq: number }).seq)
    : []

// Which of 1..n never arrived.
export const missing = (seqs: number[], n: number): number[] => {
  const seen = new Set(seqs)
  const out: number[] = []
  for (let i = 1; i <= n; i++) if (!seen.has(i)) out.push(i)
  return out
}

export const stderrSays = (run: Running, pattern: RegExp, ms = 20_000): Promise<void> =>
  until(() => pattern.test(run.stderr()), ms, `stderr to match ${pattern}: ${run.stderr().slice(-300)}`)

// Bounded wait for a process to end.
export const ended = async (run: Running, ms = 30_000): Promise<Awaited<Running['done']>> => {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still running after ${ms} ms; stderr: ${run.stderr().slice(-500)}`)), ms)
  })
  try {
    return await Promise.race([run.done, timeout])
  } finally {
    clearTimeout(timer)
  }
}

export const killGroup = (run: Running, signal: NodeJS.Signals = 'SIGTERM'): void => {
  try {
    process.kill(-run.child.pid!, signal)
  } catch {
    // gone already
  }
}

// Builds a stopped channel's directory by hand, as the channel writes it: `events` events with
// seq 1..events, `perRecord` events per block record (format 2) or single-event records (format 1,
// `single`), a new segment every `perSegment` events, and optionally reader offsets.
export interface BuiltChannel {
  dir: string
  segments: string[] // paths, oldest first
  records: { segment: string; start: number; end: number; first: number; count: number }[]
}

export const buildChannel = (
  q: string,
  options: { events: number; perRecord?: number; perSegment?: number; single?: boolean; offsets?: Record<string, unknown> },
): BuiltChannel => {
  const { events, perRecord = 10, perSegment = events, single = false } = options
  mkdirSync(`${q}/readers`, { recursive: true })
  const built: BuiltChannel = { dir: q, segments: [], records: [] }
  for (let base = 0; base < events; base += perSegment) {
    const path = `${q}/${String(base).padStart(20, '0')}.seg`
    const parts: Buffer[] = []
    let size = 0
    for (let first = base; first < Math.min(events, base + perSegment); first += single ? 1 : perRecord) {
      const count = single ? 1 : Math.min(perRecord, events - first, base + perSegment - first)
      const heads = Array.from({ length: count }, (_, k) => `{"body":"event ${first + k + 1}","src":"w","seq":${first + k + 1}`)
      const bytes = single ? encodeRecords(heads, first, Date.now()) : encodeBlock(heads, first, Date.now())
      built.records.push({ segment: path, start: size, end: size + bytes.length, first, count })
      parts.push(bytes)
      size += bytes.length
    }
    writeFileSync(path, Buffer.concat(parts))
    built.segments.push(path)
  }
  for (const [name, value] of Object.entries(options.offsets ?? {})) {
    writeFileSync(`${q}/readers/${name}.offset`, typeof value === 'string' || Buffer.isBuffer(value) ? value : JSON.stringify(value))
  }
  return built
}

// Drains a stopped channel to a link reader (pass-through with no input: it exits once all is
// delivered and acked), bounded in time: a hang fails the test.
export const drain = (t: Parameters<typeof sh>[0], q: string, out: string, reader = 'r', ms = 30_000): ReturnType<typeof ended> =>
  ended(sh(t, `${tsf} channel --dir ${q} --reader ${reader} < /dev/null | ${linkReader} ${out}`), ms)
