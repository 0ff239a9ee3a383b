import t from 'tap'
import { existsSync, linkSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { LocalStorage } from '../../../src/sinks/roll/local-storage.js'
import { RangeSet } from '../../../src/sinks/roll/ranges.js'
import { recover } from '../../../src/sinks/roll/recover.js'
import { RollState } from '../../../src/sinks/roll/state.js'
import { finalFiles, inProgressFiles } from './fixtures/procs.js'

// The states a kill -9 can leave behind, made by hand, and what the next start makes of them.

const open = async (dir: string): Promise<{ storage: LocalStorage; state: RollState }> => {
  const storage = new LocalStorage(dir)
  const state = new RollState(storage, 86_400_000)
  await state.load()
  return { storage, state }
}

t.test('killed after writing past the last commit: the file is cut back and published', async (t) => {
  const dir = t.testdir()
  const { storage, state } = await open(dir)
  await state.opening('.a-1.log.inprogress', 'a-1', '.log')
  writeFileSync(join(dir, '.a-1.log.inprogress'), 'one\ntwo\n')
  await state.commitBatch(new Map([['.a-1.log.inprogress', 8]]), new Map([['s', new RangeSet([[1, 2]])]]))
  writeFileSync(join(dir, '.a-1.log.inprogress'), 'one\ntwo\nthr', { flag: 'w' }) // uncommitted, torn
  await state.close()
  const again = await open(dir)
  await recover(again.storage, again.state)
  t.same(finalFiles(dir), ['a-1.log'])
  t.equal(readFileSync(join(dir, 'a-1.log'), 'utf8'), 'one\ntwo\n')
  t.same(inProgressFiles(dir), [])
  t.equal(again.state.files.size, 0)
  await again.state.close()
})

t.test('killed between creating a file and its first commit: the empty file goes away', async (t) => {
  const dir = t.testdir()
  const { state } = await open(dir)
  await state.opening('.b-1.log.inprogress', 'b-1', '.log')
  writeFileSync(join(dir, '.b-1.log.inprogress'), 'never committed\n')
  await state.close()
  const again = await open(dir)
  await recover(again.storage, again.state)
  t.same(finalFiles(dir), [])
  t.same(inProgressFiles(dir), [])
  await again.state.close()
})

t.test('killed in the middle of a publish (linked, not yet unlinked): one final file, not two', async (t) => {
  const dir = t.testdir()
  const { state } = await open(dir)
  await state.opening('.c-1.log.inprogress', 'c-1', '.log')
  writeFileSync(join(dir, '.c-1.log.inprogress'), 'data\n')
  await state.commitBatch(new Map([['.c-1.log.inprogress', 5]]), new Map())
  await state.publishing('.c-1.log.inprogress', 'c-1.log')
  linkSync(join(dir, '.c-1.log.inprogress'), join(dir, 'c-1.log'))
  await state.close()
  const again = await open(dir)
  await recover(again.storage, again.state)
  t.same(finalFiles(dir), ['c-1.log'])
  t.same(inProgressFiles(dir), [])
  t.equal(statSync(join(dir, 'c-1.log')).nlink, 1)
  await again.state.close()
})

t.test('killed after the publish, before recording it: nothing to do', async (t) => {
  const dir = t.testdir()
  const { storage, state } = await open(dir)
  await state.opening('.d-1.log.inprogress', 'd-1', '.log')
  writeFileSync(join(dir, '.d-1.log.inprogress'), 'data\n')
  await state.commitBatch(new Map([['.d-1.log.inprogress', 5]]), new Map())
  await state.publishing('.d-1.log.inprogress', 'd-1.log')
  t.equal(await storage.publish('.d-1.log.inprogress', 'd-1.log'), 'done')
  await state.close()
  const again = await open(dir)
  await recover(again.storage, again.state)
  t.same(finalFiles(dir), ['d-1.log'])
  t.equal(again.state.files.size, 0)
  await again.state.close()
})

t.test('a final file is never overwritten: a taken name gets an alternative', async (t) => {
  const dir = t.testdir({ 'e-1.log': 'somebody else\n' })
  const { storage, state } = await open(dir)
  await state.opening('.e-1.log.inprogress', 'e-1', '.log')
  writeFileSync(join(dir, '.e-1.log.inprogress'), 'ours\n')
  await state.commitBatch(new Map([['.e-1.log.inprogress', 5]]), new Map())
  t.equal(await storage.publish('.e-1.log.inprogress', 'e-1.log'), 'exists')
  await state.close()
  const again = await open(dir)
  await recover(again.storage, again.state)
  t.equal(readFileSync(join(dir, 'e-1.log'), 'utf8'), 'somebody else\n')
  t.equal(readFileSync(join(dir, 'e-1.1.log'), 'utf8'), 'ours\n')
  t.notOk(existsSync(join(dir, '.e-1.log.inprogress')))
  await again.state.close()
})
