// Process helpers for the Kafka collect tests: roll's output, the collector inside a pipeline.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { listedAgainOnEnoent } from '../../fixtures/pipelines.js'
import type { Proc } from '../../fixtures/tcp-helpers.js'

export const cleanup = (t: { teardown: (fn: () => void) => void }, ...procs: Proc[]): void =>
  t.teardown(() => procs.forEach((p) => p.kill()))

// Every line roll wrote (published and in-progress files), its state directory left out.
export const rolledLines = (dir: string): string[] => listedAgainOnEnoent(() => linesUnder(dir))

const linesUnder = (dir: string): string[] => {
  if (!existsSync(dir)) return []
  const out: string[] = []
  for (const name of readdirSync(dir)) {
    if (name === '.tsf-roll') continue
    const path = join(dir, name)
    if (statSync(path).isDirectory()) out.push(...linesUnder(path))
    else out.push(...readFileSync(path, 'utf8').split('\n').slice(0, -1))
  }
  return out
}

export const duplicates = (xs: string[]): string[] => {
  const seen = new Set<string>()
  return xs.filter((x) => (seen.has(x) ? true : (seen.add(x), false)))
}

// The pid of the `tsf collect` child of a pipeline's shell (to signal it alone), once it runs.
export const collectorPid = async (proc: Proc): Promise<number> => {
  const deadline = Date.now() + 20_000
  for (;;) {
    for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
        const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
        if (ppid === proc.child.pid && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('\0collect\0')) return Number(pid)
      } catch {
        // gone meanwhile
      }
    }
    if (Date.now() > deadline) throw new Error(`no tsf collect process in the pipeline: ${proc.stderr()}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

// A pipeline is stopped from its source: the collector drains, its reader sees the end and exits.
export const stopCollector = async (proc: Proc): Promise<void> => {
  process.kill(await collectorPid(proc), 'SIGTERM')
}
