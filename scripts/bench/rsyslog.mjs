// Running rsyslogd (Debian package) for the comparisons: configs from bench/rsyslog/ with their
// placeholders filled in, foreground (-n), each under GNU time like every tsf stage.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { join } from 'node:path'
import { Pipeline, sleep, sq } from './pipeline.mjs'
import { ROOT } from './tsf.mjs'

export const RSYSLOGD = ['/usr/sbin/rsyslogd', '/sbin/rsyslogd'].find((p) => existsSync(p))
export const rsyslogMissing = () => (RSYSLOGD ? undefined : 'rsyslogd not installed (apt-get install rsyslog)')

export const freePort = () =>
  new Promise((resolve, reject) => {
    const s = createServer()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })

export const waitForPort = async (port, timeoutMs = 15_000) => {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const c = connect(port, '127.0.0.1')
      c.on('connect', () => {
        c.destroy()
        resolve(true)
      })
      c.on('error', () => resolve(false))
    })
    if (ok) return
    await sleep(50)
  }
  throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`)
}

// Starts `rsyslogd -n` with bench/rsyslog/<name>.conf, placeholders replaced from vars.
export const startRsyslog = (ctx, label, name, vars) => {
  const work = join(ctx.work, label)
  mkdirSync(work, { recursive: true })
  let conf = readFileSync(join(ROOT, 'bench/rsyslog', name + '.conf'), 'utf8')
  for (const [k, v] of Object.entries({ WORK: work, ...vars })) conf = conf.replaceAll(`@${k}@`, String(v))
  const confPath = join(work, 'rsyslog.conf')
  writeFileSync(confPath, conf)
  return new Pipeline({
    dir: ctx.work,
    stages: [{ label, cmd: `${RSYSLOGD} -n -f ${sq(confPath)} -i ${sq(join(work, 'pid'))}` }],
    stdout: join(work, 'stdout'),
  })
}

// Waits until a file holds `bytes` bytes; fails when it stops growing for stallMs.
export const waitForBytes = async (paths, bytes, { stallMs = 30_000, timeoutMs, pipelines = [] } = {}) => {
  const size = () =>
    paths().reduce((n, p) => {
      try {
        return n + statSync(p).size
      } catch {
        return n
      }
    }, 0)
  const deadline = Date.now() + timeoutMs
  let last = -1
  let lastChange = Date.now()
  for (;;) {
    const now = size()
    if (now >= bytes) return process.hrtime.bigint()
    if (now !== last) {
      last = now
      lastChange = Date.now()
    }
    const dead = pipelines.find((p) => p.ended !== undefined)
    if (dead)
      throw new Error(
        `${dead.stages[0].label} exited early with ${now} of ${bytes} bytes written: ${dead.stderrOf(dead.stages[0].label).trim().split('\n').slice(-2).join(' / ')}`,
      )
    if (Date.now() - lastChange > stallMs) throw new Error(`output stalled at ${now} of ${bytes} bytes for ${stallMs / 1000} s`)
    if (Date.now() > deadline) throw new Error(`output at ${now} of ${bytes} bytes after ${timeoutMs / 1000} s`)
    await sleep(20)
  }
}
