// A small real fleet for the tsf top tests: collectors with --metrics, and agents
// (tail -F | ship --report-upstream) sending to them.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { run, tsf, type Proc } from '../fixtures/tcp-helpers.js'

export { tsf }

export interface Collector extends Proc {
  port: number
  metrics: string
}

// stalled: its stdout is a pipe nobody reads (a stuck downstream), so it soon takes no more batches
export const startCollector = async (dir: string, name: string, stalled = false): Promise<Collector> => {
  const out = stalled ? '| sleep 3600' : `> ${join(dir, `${name}.ndjson`)}`
  const p = run(`${stalled ? '' : 'exec '}${tsf} collect --listen 127.0.0.1:0 --metrics 127.0.0.1:0 ${out}`, dir)
  const listen = await p.waitFor(/listening on 127\.0\.0\.1:(\d+)/)
  const metrics = await p.waitFor(/metrics on http:\/\/127\.0\.0\.1:(\d+)\//)
  return Object.assign(p, { port: Number(listen[1]), metrics: `127.0.0.1:${metrics[1]}` })
}

// tail -F <log> --metrics 127.0.0.1:<tailMetrics> | ship <dests> --report-upstream <tailMetrics>
export const startAgent = async (
  dir: string,
  name: string,
  dests: string,
  tailMetrics: number,
  shipArgs = '--report-interval 300ms',
): Promise<Proc> => {
  const log = join(dir, `${name}.log`)
  writeFileSync(log, '')
  const p = run(
    `${tsf} tail -F ${log} --state ${join(dir, `${name}.state`)} --metrics 127.0.0.1:${tailMetrics} | ` +
      `${tsf} ship ${dests} --report-upstream 127.0.0.1:${tailMetrics} ${shipArgs}`,
    dir,
  )
  await p.waitFor(/tsf tail: following 1 file/)
  return p
}
