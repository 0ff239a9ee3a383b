import t from 'tap'
import type { Test } from 'tap'
import { WebHdfs } from '../../../src/hdfs/webhdfs.js'
import { HdfsStorage, LOG_XATTR } from '../../../src/sinks/roll/hdfs-storage.js'
import { uniqueName, webhdfsUrl } from '../../fixtures/servers.js'

// roll's commit log on a REAL HDFS (TSF_TEST_WEBHDFS): the newest records live in the extended
// attribute user.tsf.commits of .tsf-roll/commits.log ("<base>\n<records>"), and every state a
// crash can leave (a flush cut short, a flush whose attribute was not rewritten, an attribute left
// over from before a cut) reads back as one whole log.

const rec = (i: number, pad = 0): Buffer => Buffer.from(`record ${i} ${'x'.repeat(pad)}\n`)
const tail = (base: number, records: Buffer): Buffer => Buffer.concat([Buffer.from(`${base}\n`), records])

const setup = async (t: Test) => {
  const url = webhdfsUrl(t)
  if (!url) return undefined
  const c = new WebHdfs(url, 'tsf')
  t.teardown(() => c.close())
  const root = `/tsf-test/${uniqueName('roll-log')}`
  await c.mkdirs(`${root}/.tsf-roll`)
  return { c, root, log: `${root}/.tsf-roll/commits.log` }
}

t.test('real HDFS: records go into the attribute, survive a restart, and close() moves them into the file', async (t) => {
  const s = await setup(t)
  if (!s) return
  const { c, root, log } = s
  const storage = new HdfsStorage(c, root)
  t.equal(await storage.readLog(), undefined, 'no log yet')
  const l = await storage.openLog(0)
  const records = [rec(1), rec(2), rec(3)]
  for (const r of records) await l.append(r)
  t.equal(l.size, Buffer.concat(records).length)
  t.equal((await c.status(log))?.length, 0, 'no APPEND: the file is still empty')
  t.same(await c.getXAttr(log, LOG_XATTR), tail(0, Buffer.concat(records)))
  // a restart (kill -9: nothing flushed) reads the same log
  const again = new HdfsStorage(c, root)
  t.same(await again.readLog(), Buffer.concat(records))
  const l2 = await again.openLog(Buffer.concat(records).length)
  await l2.append(rec(4))
  t.same(await again.readLog(), Buffer.concat([...records, rec(4)]))
  await l2.close()
  const all = Buffer.concat([...records, rec(4)])
  t.same(await c.open(log), all, 'close(): the records are in the file')
  t.same(await c.getXAttr(log, LOG_XATTR), tail(all.length, Buffer.alloc(0)), 'and the attribute holds none')
  t.same(await new HdfsStorage(c, root).readLog(), all)
})

t.test('real HDFS: records beyond the attribute budget go into the file with one APPEND; reset empties both', async (t) => {
  const s = await setup(t)
  if (!s) return
  const { c, root, log } = s
  const storage = new HdfsStorage(c, root)
  const l = await storage.openLog(0)
  const records = Array.from({ length: 12 }, (_, i) => rec(i, 900))
  for (const r of records) await l.append(r)
  const fileLength = (await c.status(log))!.length
  t.ok(fileLength > 0, `some records were flushed into the file (${fileLength} bytes)`)
  t.ok(fileLength < Buffer.concat(records).length, 'the newest ones are in the attribute')
  t.same(await storage.readLog(), Buffer.concat(records), 'the log reads whole, in order')
  t.equal(l.size, Buffer.concat(records).length)
  await l.reset()
  t.equal(l.size, 0)
  t.equal((await c.status(log))?.length, 0)
  t.same(await storage.readLog(), Buffer.alloc(0), 'empty after reset')
  await l.append(rec(99))
  t.same(await new HdfsStorage(c, root).readLog(), rec(99))
})

t.test('real HDFS: what a crash can leave reads back as one whole log, and openLog cuts it exactly', async (t) => {
  const s = await setup(t)
  if (!s) return
  const { c, root, log } = s
  const storage = new HdfsStorage(c, root)
  const base = Buffer.concat([rec(1), rec(2)])
  const held = Buffer.concat([rec(3), rec(4)])
  await c.create(log, base)
  await c.setXAttr(log, LOG_XATTR, tail(base.length, held))
  t.same(await storage.readLog(), Buffer.concat([base, held]), 'file, then the attribute')

  // a flush of the held records cut short by a crash: the file holds a beginning of them
  await c.append(log, held.subarray(0, 5), { expectedLength: base.length })
  t.same(await storage.readLog(), Buffer.concat([base, held]), 'a torn flush: still the file base, then the attribute')

  // the flush finished, the attribute was not rewritten, and a newer record followed in the file
  await c.append(log, held.subarray(5), { expectedLength: base.length + 5 })
  await c.append(log, rec(5), { expectedLength: base.length + held.length })
  const flushed = Buffer.concat([base, held, rec(5)])
  t.same(await storage.readLog(), flushed, 'a finished flush: the file')

  // a torn record at the end: the state loader cuts it with openLog(length)
  await c.append(log, Buffer.from('torn'), { expectedLength: flushed.length })
  const l = await storage.openLog(flushed.length)
  t.same(await c.open(log), flushed, 'cut back')
  t.same(await c.getXAttr(log, LOG_XATTR), tail(flushed.length, Buffer.alloc(0)), 'the attribute says: nothing held')
  t.equal(l.size, flushed.length)

  // an attribute left over from before the file was cut below its base: stale, the file wins
  await c.setXAttr(log, LOG_XATTR, tail(flushed.length + 100, rec(6)))
  t.same(await storage.readLog(), flushed, 'a stale attribute is ignored')

  // openLog inside the held records: the file stays, the attribute keeps only what is kept
  await c.setXAttr(log, LOG_XATTR, tail(flushed.length, Buffer.concat([rec(6), rec(7)])))
  const cut = await storage.openLog(flushed.length + rec(6).length)
  t.same(await storage.readLog(), Buffer.concat([flushed, rec(6)]))
  t.equal((await c.status(log))?.length, flushed.length)
  await cut.append(rec(8))
  t.same(await new HdfsStorage(c, root).readLog(), Buffer.concat([flushed, rec(6), rec(8)]))
})
