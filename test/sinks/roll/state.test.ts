import t from 'tap'
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { LocalStorage } from '../../../src/sinks/roll/local-storage.js'
import { RangeSet } from '../../../src/sinks/roll/ranges.js'
import { RollState } from '../../../src/sinks/roll/state.js'

const load = async (dir: string, horizon = 86_400_000): Promise<RollState> => {
  const state = new RollState(new LocalStorage(dir), horizon)
  await state.load()
  return state
}

t.test('commits survive a reload: file lengths and seq ranges together', async (t) => {
  const dir = t.testdir()
  const s1 = await load(dir)
  await s1.opening('.a.log.inprogress', 'a', '.log')
  await s1.commitBatch(new Map([['.a.log.inprogress', 100]]), new Map([['s', new RangeSet([[1, 10]])]]))
  await s1.commitBatch(new Map([['.a.log.inprogress', 180]]), new Map([['s', new RangeSet([[20, 25]])]]))
  await s1.close()
  const s2 = await load(dir)
  t.same(s2.files.get('.a.log.inprogress'), { len: 180, stem: 'a', suffix: '.log' })
  t.ok(s2.isDuplicate('s', 5))
  t.ok(s2.isDuplicate('s', 22))
  t.notOk(s2.isDuplicate('s', 15))
  t.notOk(s2.isDuplicate('other', 1))
  await s2.publishing('.a.log.inprogress', 'a.log')
  t.equal(s2.files.get('.a.log.inprogress')!.final, 'a.log')
  await s2.closed(['.a.log.inprogress'])
  await s2.close()
  const s3 = await load(dir)
  t.equal(s3.files.size, 0)
  t.ok(s3.isDuplicate('s', 1))
  await s3.close()
})

t.test('a torn or corrupt tail of the log is cut, earlier commits stay', async (t) => {
  const dir = t.testdir()
  const s1 = await load(dir)
  await s1.opening('.a.inprogress', 'a', '')
  await s1.commitBatch(new Map([['.a.inprogress', 10]]), new Map([['s', new RangeSet([[1, 1]])]]))
  await s1.close()
  const log = join(dir, '.tsf-roll', 'commits.log')
  const good = readFileSync(log).length
  appendFileSync(log, '0badc0de {"c":3,"files":{".a.inprogress":999}}\n{"c":4,"fi')
  const s2 = await load(dir)
  t.equal(s2.files.get('.a.inprogress')!.len, 10, 'the bad record was not applied')
  await s2.close()
  t.equal(readFileSync(log).length, good, 'the log was cut back to its good part')
})

t.test('compaction keeps everything and forgets streams past the horizon', async (t) => {
  const dir = t.testdir()
  const s1 = await load(dir, 60_000)
  await s1.commitBatch(new Map(), new Map([['fresh', new RangeSet([[1, 3]])]]))
  s1.streams.set('stale', { ranges: new RangeSet([[1, 1]]), seen: Date.now() - 120_000 })
  await s1.compact()
  await s1.commitBatch(new Map(), new Map([['fresh', new RangeSet([[4, 4]])]]))
  await s1.close()
  const s2 = await load(dir, 60_000)
  t.ok(s2.isDuplicate('fresh', 4), 'a commit after the snapshot is replayed')
  t.ok(s2.isDuplicate('fresh', 1), 'the snapshot holds what came before')
  t.notOk(s2.streams.has('stale'), 'the stale stream is forgotten')
  await s2.close()
})

t.test('a broken snapshot is a clear error, not a crash', async (t) => {
  const dir = t.testdir({ '.tsf-roll': { 'state.json': '{not json' } })
  await t.rejects(load(dir), { name: 'TsfError', message: /state\.json.*not valid JSON/ })
  writeFileSync(join(dir, '.tsf-roll', 'state.json'), '{"c":0,"files":{},"streams":{}}')
  const s = await load(dir)
  await s.close()
})
