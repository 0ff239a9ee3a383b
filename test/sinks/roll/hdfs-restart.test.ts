import t from 'tap'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { WebHdfs } from '../../../src/hdfs/webhdfs.js'
import { uniqueName, webhdfsUrl } from '../../fixtures/servers.js'
import { hdfsRoot, readTree } from './fixtures/hdfs-tree.js'
import { exactlyOnce, readNumber, root, sh, tsf, until, writer } from './fixtures/procs.js'

// tsf roll into a REAL HDFS whose NameNode is killed and restarted mid-stream.

t.test('real HDFS: a NameNode restart mid-stream: roll waits, then carries on, exactly once', async (t) => {
  const url = webhdfsUrl(t)
  if (!url) return
  if (url !== 'http://127.0.0.1:19870')
    return t.skip(`TSF_TEST_WEBHDFS is ${url}, not the scripts/servers/hdfs.mjs server this test can restart`)
  const servers = (await import(pathToFileURL(path.join(root, 'scripts', 'servers', 'hdfs.mjs')).href)) as {
    status(): Promise<{ running: boolean }>
    restartNameNode(o?: { downMs?: number; signal?: string }): Promise<{ stopMs: number; readyMs: number }>
  }
  if (!(await servers.status()).running) return t.skip('the HDFS at 127.0.0.1:19870 was not started by scripts/servers/hdfs.mjs')
  const c = new WebHdfs(url, 'tsf')
  t.teardown(() => c.close())
  const dir = `/tsf-test/${uniqueName('roll-nn')}`
  const ck = path.join(t.testdir(), 'ck')
  const N = 4_000
  const run = sh(
    t,
    `${writer} ${N} ${ck} --rate 2000 --end-timeout 110000 | ${tsf} roll '${hdfsRoot(url, dir)}' --hdfs-user tsf --count 2000`,
  )
  await until(() => readNumber(ck) > 0, 60_000, 'acks to start', run.stderr)
  await servers.restartNameNode({ downMs: 1500, signal: 'SIGKILL' })
  const done = await run.done
  t.equal(done.code, 0, run.stderr())
  t.equal(readNumber(ck), N)
  const tree = await readTree(c, dir)
  const { missing, duplicated, other } = exactlyOnce(tree.lines, 'stream-a', N)
  t.same(missing, [], 'nothing lost')
  t.same(duplicated, [], 'nothing twice')
  t.same(other, [], 'nothing torn')
  t.same(tree.inProgress, [], 'nothing left in progress')
})
