// `tsf tail LOG | tsf roll hdfs://NN/DIR` next to one `curl -L -T LOG` WebHDFS CREATE of the same
// file on the same HDFS, and next to `tsf tail LOG | tsf roll DIR` (a local directory: what the
// two tsf stages cost without HDFS), one after the other in the same run. The HDFS is
// TSF_TEST_WEBHDFS (`source` the env of `node scripts/servers.mjs start hdfs`); each run writes a
// fresh directory, read back afterwards: the same bytes as the log, in order, or the run is wrong.
import { createHash } from 'node:crypto'
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { expectClean, expectSameBytes, expectTailRead, rolledFiles } from '../checks.mjs'
import { stateDir } from '../collector.mjs'
import { Pipeline, sq } from '../pipeline.mjs'
import { missing, ROOT, TSF } from '../tsf.mjs'

const WEBHDFS = process.env.TSF_TEST_WEBHDFS
const USER = 'tsf'
const needsHdfs = () => (WEBHDFS ? undefined : 'TSF_TEST_WEBHDFS is not set (node scripts/servers.mjs start hdfs; source its env)')
const needsCurl = () => (spawnSync('curl', ['--version']).status === 0 ? undefined : 'curl not installed')

const client = async () => {
  const { WebHdfs } = await import(join(ROOT, 'dist/hdfs/webhdfs.js'))
  return new WebHdfs(WEBHDFS, USER)
}

// The files roll published under dir (its state and in-progress files start with a dot or end in
// .tmp), in the order roll wrote them (the numbers in their names), read back as one stream.
const hdfsDigest = async (c, files) => {
  const hash = createHash('sha256')
  let bytes = 0
  for (const f of files) {
    const data = await c.open(f)
    hash.update(data)
    bytes += data.length
  }
  return { sha256: hash.digest('hex'), bytes }
}

const published = async (c, dir) => {
  const key = (name) => (name.match(/\d+/g) ?? []).map(Number)
  const names = (await c.list(dir)).filter((s) => s.type === 'FILE' && !s.pathSuffix.startsWith('.') && !s.pathSuffix.endsWith('.tmp'))
  return names
    .map((s) => s.pathSuffix)
    .sort((a, b) => {
      const ka = key(a)
      const kb = key(b)
      for (let i = 0; i < Math.max(ka.length, kb.length); i++) if ((ka[i] ?? -1) !== (kb[i] ?? -1)) return (ka[i] ?? -1) - (kb[i] ?? -1)
      return 0
    })
    .map((n) => `${dir}/${n}`)
}

const expectHdfsBytes = async (c, files, log) => {
  const got = await hdfsDigest(c, files)
  if (got.sha256 === log.sha256) return undefined
  return `HDFS holds ${got.bytes} bytes in ${files.length} files, expected ${log.bytes} (${got.bytes === log.bytes ? 'same size, different bytes' : 'lost or doubled'})`
}

const benchDir = (name) => `/tsf-bench/${name}-${Date.now()}`

const rollWorkload = (name, title, tailArgs) => ({
  name,
  title,
  needs: () => missing(['tail', 'roll']) ?? needsHdfs(),
  async run(ctx) {
    const c = await client()
    const dir = benchDir(name)
    const state = stateDir(ctx, `${name}-state`)
    const url = `${WEBHDFS.replace(/^http/, 'hdfs').replace('://', `://${USER}@`)}${dir}`
    const p = new Pipeline({
      dir: ctx.work,
      stages: [
        { label: 'tail', cmd: `${TSF} tail --state ${sq(state)}${tailArgs} ${sq(ctx.log.path)}` },
        { label: 'roll', cmd: `${TSF} roll ${sq(url)}` },
      ],
      stdout: undefined,
    })
    try {
      await p.wait(ctx.timeoutMs)
      const procs = p.processes()
      const problem = expectClean(procs) ?? expectTailRead(state, ctx.log) ?? (await expectHdfsBytes(c, await published(c, dir), ctx.log))
      return { bytes: ctx.log.bytes, events: ctx.log.lines, wall: p.wall, procs, problem, command: p.command }
    } finally {
      p.kill()
      await c.delete(dir, true).catch(() => undefined)
      c.close()
    }
  },
})

export const hdfsTsf = rollWorkload('hdfs', 'tsf tail | tsf roll hdfs://', '')
export const hdfsTsfWindow = rollWorkload('hdfs-window', 'tsf tail --window 64M | tsf roll hdfs://', ' --window 64M')

export const hdfsLocal = {
  name: 'hdfs-local',
  title: 'tsf tail | tsf roll DIR (local, for the HDFS figures)',
  needs: () => missing(['tail', 'roll']),
  async run(ctx) {
    const state = stateDir(ctx, 'hdfs-local-state')
    const out = join(ctx.work, 'hdfs-local-out')
    const p = new Pipeline({
      dir: ctx.work,
      stages: [
        { label: 'tail', cmd: `${TSF} tail --state ${sq(state)} ${sq(ctx.log.path)}` },
        { label: 'roll', cmd: `${TSF} roll ${sq(out)}` },
      ],
      stdout: undefined,
    })
    await p.wait(ctx.timeoutMs)
    const procs = p.processes()
    const problem =
      expectClean(procs) ?? expectTailRead(state, ctx.log) ?? (await expectSameBytes(rolledFiles(out), ctx.log, 'rolled output'))
    return { bytes: ctx.log.bytes, events: ctx.log.lines, wall: p.wall, procs, problem, command: p.command }
  },
}

export const hdfsCurl = {
  name: 'hdfs-curl',
  title: 'curl -L -T (one WebHDFS CREATE of the log)',
  needs: () => needsHdfs() ?? needsCurl(),
  async run(ctx) {
    const c = await client()
    const dir = benchDir('hdfs-curl')
    await c.mkdirs(dir)
    const file = `${dir}/curl.log`
    const url = `${WEBHDFS}/webhdfs/v1${file}?op=CREATE&user.name=${USER}&overwrite=false`
    const p = new Pipeline({ dir: ctx.work, stages: [{ label: 'curl', cmd: `curl -sS -f -L -T ${sq(ctx.log.path)} ${sq(url)}` }] })
    try {
      await p.wait(ctx.timeoutMs)
      const procs = p.processes()
      const problem = expectClean(procs) ?? (await expectHdfsBytes(c, [file], ctx.log))
      return { bytes: ctx.log.bytes, events: ctx.log.lines, wall: p.wall, procs, problem, command: p.command }
    } finally {
      p.kill()
      await c.delete(dir, true).catch(() => undefined)
      c.close()
    }
  },
}
