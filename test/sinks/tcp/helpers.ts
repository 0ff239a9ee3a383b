// Process helpers for the ship/collect tests: run the built CLI through real shells and pipes,
// wait for readiness lines on stderr, and always clean up.
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync, existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export const root = fileURLToPath(new URL('../../../', import.meta.url))
export const tsf = `node ${root}bin/tsf.js`
export const fixture = (name: string): string => `${root}test/fixtures/${name}`

export interface Proc {
  child: ChildProcess
  stderr: () => string
  exited: Promise<number | null>
  // waits until stderr matches (bounded)
  waitFor: (pattern: RegExp, ms?: number) => Promise<RegExpMatchArray>
  kill: (signal?: NodeJS.Signals) => void
}

// `sh -c script` in its own process group, so kill() reaches every command of the pipeline.
export const run = (script: string, cwd: string): Proc => {
  const child = spawn('sh', ['-c', script], { cwd, detached: true, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1' } })
  let err = ''
  const waiters: (() => void)[] = []
  child.stderr!.on('data', (d: Buffer) => {
    err += d.toString()
    for (const w of waiters.splice(0)) w()
  })
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code, sig) => resolve(code ?? (sig ? 128 : null))))
  const proc: Proc = {
    child,
    stderr: () => err,
    exited,
    kill: (signal = 'SIGKILL') => {
      try {
        process.kill(-child.pid!, signal)
      } catch {
        // already gone
      }
    },
    waitFor: (pattern, ms = 15_000) =>
      new Promise((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error(`timed out waiting for ${pattern} in stderr:\n${err}`)), ms)
        const look = (): void => {
          const m = pattern.exec(err)
          if (m) {
            clearTimeout(deadline)
            resolve(m)
          } else waiters.push(look)
        }
        look()
      }),
  }
  return proc
}

// a collector on a free port (or the one given); resolves once it listens
export const startCollect = async (dir: string, args: string, out: string, port = 0): Promise<Proc & { port: number }> => {
  const p = run(`exec ${tsf} collect --listen 127.0.0.1:${port} ${args} > ${out}`, dir)
  const m = await p.waitFor(/listening on (?:tls:\/\/)?127\.0\.0\.1:(\d+)/)
  return Object.assign(p, { port: Number(m[1]) })
}

export const lines = (file: string): string[] => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l !== '') : [])
export const bodies = (file: string): string[] => lines(file).map((l) => (JSON.parse(l) as { body: string }).body)

// waits until check() holds (bounded)
export const until = async (check: () => boolean, ms = 20_000, what = 'condition'): Promise<void> => {
  const deadline = Date.now() + ms
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

export const seqOf = (body: string): number => Number(body.slice(body.lastIndexOf(' ') + 1))

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

// the numbers 1..N not seen in bodies "<prefix>N" (link-writer.mjs writes "w event N")
export const missing = (seen: string[], n: number, prefix = 'w event '): number[] => {
  const set = new Set(seen)
  const out: number[] = []
  for (let i = 1; i <= n; i++) if (!set.has(`${prefix}${i}`)) out.push(i)
  return out
}
