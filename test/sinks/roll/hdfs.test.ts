import t from 'tap'
import path from 'node:path'
import { WebHdfs } from '../../../src/hdfs/webhdfs.js'
import { uniqueName, webhdfsUrl } from '../../fixtures/servers.js'
import { hdfsRoot, readTree } from './fixtures/hdfs-tree.js'
import { exactlyOnce, readNumber, rollPid, sh, tsf, until, writer } from './fixtures/procs.js'

// tsf roll into a REAL HDFS (scripts/servers/hdfs.mjs, TSF_TEST_WEBHDFS): the same exactly-once
// promise as on local files, under kill -9 of roll.

t.test('real HDFS: kill -9 at random moments, restart: every event exactly once', async (t) => {
  const url = webhdfsUrl(t)
  if (!url) return
  const c = new WebHdfs(url, 'tsf')
  t.teardown(() => c.close())
  const dir = `/tsf-test/${uniqueName('roll-kill')}`
  const ck = path.join(t.testdir(), 'ck')
  const N = 6_000
  const pipeline = `${writer} ${N} ${ck} --pad 40 --ts-step 20000 | ${tsf} roll '${hdfsRoot(url, dir)}/%Y-%m-%d' --hdfs-user tsf --count 1000`
  let kills = 0
  for (let round = 0; round < 3; round++) {
    const run = sh(t, pipeline)
    // a random point of the stream counted in acked events, not time (a quiet machine is fast)
    const target = readNumber(ck) + 1 + Math.floor(Math.random() * 1500)
    await until(() => readNumber(ck) >= target || run.child.exitCode !== null, 60_000, 'acks to advance', run.stderr)
    const pid = rollPid(run.child)
    if (pid === undefined) {
      await run.done
      break
    }
    process.kill(pid, 'SIGKILL')
    kills++
    await run.done
  }
  t.ok(kills > 0, `killed roll ${kills} times`)
  const last = sh(t, pipeline)
  t.equal((await last.done).code, 0, last.stderr())
  t.equal(readNumber(ck), N)
  const tree = await readTree(c, dir)
  const { missing, duplicated, other } = exactlyOnce(tree.lines, 'stream-a', N)
  t.same(missing, [], 'nothing lost')
  t.same(duplicated, [], 'nothing twice')
  t.same(other, [], 'nothing torn')
  t.same(tree.inProgress, [], 'nothing left in progress')
})
