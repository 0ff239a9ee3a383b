import t from 'tap'
import path from 'node:path'
import { pathToFileURL } from 'node:url'
import { WebHdfs } from '../../../src/sinks/hdfs/webhdfs.js'
import { uniqueName, webhdfsUrl } from '../../fixtures/servers.js'
import { exactlyOnce, readNumber, root, rollPid, sh, sleep, tsf, until, writer } from './fixtures/procs.js'

// tsf roll into a REAL HDFS (scripts/servers/hdfs.mjs, TSF_TEST_WEBHDFS): the same exactly-once
// promise as on local files, under kill -9 of roll and across a NameNode restart.

interface Tree {
  finals: string[]
  inProgress: string[]
  lines: string[]
}

// Every file under dir (roll's state excluded), and the lines of the final ones.
const readTree = async (c: WebHdfs, dir: string): Promise<Tree> => {
  const tree: Tree = { finals: [], inProgress: [], lines: [] }
  const walk = async (d: string): Promise<void> => {
    for (const s of await c.list(d)) {
      const p = `${d}/${s.pathSuffix}`
      if (s.type === 'DIRECTORY') {
        if (s.pathSuffix !== '.tsf-roll') await walk(p)
      } else if (s.pathSuffix.endsWith('.inprogress')) tree.inProgress.push(p)
      else {
        tree.finals.push(p)
        tree.lines.push(...(await c.open(p)).toString().split('\n').slice(0, -1))
      }
    }
  }
  await walk(dir)
  return tree
}

const hdfsRoot = (url: string, dir: string): string => `${url.replace(/^http/, 'hdfs')}${dir}`

t.test('real HDFS: kill -9 at random moments, restart: every event exactly once', async (t) => {
  const url = webhdfsUrl(t)
  if (!url) return
  const c = new WebHdfs(url, 'tsf')
  t.teardown(() => c.close())
  const dir = `/tsf-test/${uniqueName('roll-kill')}`
  const ck = path.join(t.testdir(), 'ck')
  const N = 10_000
  const pipeline = `${writer} ${N} ${ck} --pad 40 --ts-step 20000 | ${tsf} roll '${hdfsRoot(url, dir)}/%Y-%m-%d' --hdfs-user tsf --count 1500`
  let kills = 0
  for (let round = 0; round < 3; round++) {
    const run = sh(t, pipeline)
    const before = readNumber(ck)
    await until(() => readNumber(ck) > before || run.child.exitCode !== null, 60_000, 'acks to advance', run.stderr)
    await sleep(Math.floor(Math.random() * 1000))
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

t.test('real HDFS: a NameNode restart mid-stream: roll waits, then carries on, exactly once', async (t) => {
  const url = webhdfsUrl(t)
  if (!url) return
  if (url !== 'http://127.0.0.1:19870') return t.skip(`TSF_TEST_WEBHDFS is ${url}, not the scripts/servers/hdfs.mjs server this test can restart`)
  const servers = (await import(pathToFileURL(path.join(root, 'scripts', 'servers', 'hdfs.mjs')).href)) as {
    status(): Promise<{ running: boolean }>
    restartNameNode(o?: { downMs?: number; signal?: string }): Promise<{ stopMs: number; readyMs: number }>
  }
  if (!(await servers.status()).running) return t.skip('the HDFS at 127.0.0.1:19870 was not started by scripts/servers/hdfs.mjs')
  const c = new WebHdfs(url, 'tsf')
  t.teardown(() => c.close())
  const dir = `/tsf-test/${uniqueName('roll-nn')}`
  const ck = path.join(t.testdir(), 'ck')
  const N = 6_000
  const run = sh(t, `${writer} ${N} ${ck} --rate 2000 --end-timeout 110000 | ${tsf} roll '${hdfsRoot(url, dir)}' --hdfs-user tsf --count 2000`)
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
