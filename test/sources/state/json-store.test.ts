// The file sources' one JSON state store: what it writes, what it refuses, and its lock.
import t from 'tap'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { DirLock } from '../../../src/core/dir-lock.js'
import { JsonStateStore, openStateStore, type StateFileKind } from '../../../src/sources/state/json-store.js'
import { isLocked } from '../../fixtures/dir-lock.js'

interface Entry {
  path: string
  pos: number
}

const KIND: StateFileKind = {
  file: 'test.json',
  who: 'tsf test',
  holds: 'the test state',
  is: 'a tsf test state file',
  shape: { path: 'string', pos: 'count' },
}

class TestStore extends JsonStateStore<Entry> {
  readonly entries: Entry[] = []
  private constructor(dir: string, lock: DirLock) {
    super(dir, KIND, 10, lock)
    this.entries.push(...this.loadEntries())
  }
  static open(dir: string): Promise<TestStore> {
    return openStateStore(dir, KIND, (lock) => new TestStore(dir, lock))
  }
  protected snapshot(): Entry[] {
    return this.entries
  }
}

t.test('a save writes version 1 and the entries; a reopen reads them back', async (t) => {
  const dir = join(t.testdir(), 'state')
  const a = await TestStore.open(dir)
  t.same(a.entries, [], 'a first run starts empty')
  a.entries.push({ path: '/var/log/x', pos: 42 })
  a.markDirty()
  a.save()
  t.same(JSON.parse(readFileSync(join(dir, 'test.json'), 'utf8')), { version: 1, files: [{ path: '/var/log/x', pos: 42 }] })
  t.notOk(existsSync(join(dir, 'test.json.tmp')), 'no temporary file is left')
  a.close()
  const b = await TestStore.open(dir)
  t.same(b.entries, [{ path: '/var/log/x', pos: 42 }])
  t.equal(b.agent, a.agent, 'the agent id stays with the dir')
  t.match(b.newSrc(), new RegExp(`^${a.agent}\\.[A-Za-z0-9_-]{12}$`), 'a src is the agent id and a random part')
  t.not(b.newSrc(), b.newSrc())
  b.close()
})

t.test('an entry of the wrong shape is refused in one line naming the file, the entry and the field', async (t) => {
  const dir = join(t.testdir(), 'state')
  const first = await TestStore.open(dir)
  first.close()
  writeFileSync(
    join(dir, 'test.json'),
    JSON.stringify({
      version: 1,
      files: [
        { path: 'a', pos: 1 },
        { path: 'b', pos: -1 },
      ],
    }),
  )
  await t.rejects(TestStore.open(dir), {
    message: `${join(dir, 'test.json')}: entry 2 of 2 is damaged (field "pos" is missing or not a valid value): not a tsf test state file (remove it to start over)`,
  })
})

t.test('changes are saved on a timer, grouped', async (t) => {
  const dir = join(t.testdir(), 'state')
  const s = await TestStore.open(dir)
  s.entries.push({ path: 'a', pos: 1 })
  s.markDirty()
  s.entries[0]!.pos = 2
  s.markDirty()
  const path = join(dir, 'test.json')
  for (let i = 0; i < 500 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 10))
  t.same(JSON.parse(readFileSync(path, 'utf8')).files, [{ path: 'a', pos: 2 }], 'the last state is saved')
  s.close()
})

t.test('a file that is not ours is refused in one line, not guessed at', async (t) => {
  const dir = t.testdir({ 'test.json': '{"version":2,"files":[]}' })
  await t.rejects(TestStore.open(dir), { message: `${join(dir, 'test.json')}: not a tsf test state file (remove it to start over)` })
  writeFileSync(join(dir, 'test.json'), '{"version":1,"fi')
  await t.rejects(TestStore.open(dir), { message: /not a tsf test state file/ })
})

t.test('one process a state dir: a second one is refused naming the holder', async (t) => {
  const dir = join(t.testdir(), 'state')
  const a = await TestStore.open(dir)
  t.ok(isLocked(dir, { kind: 'state' }), 'the dir is locked while a store is open')
  await t.rejects(TestStore.open(dir), { message: `--state ${dir} is in use by another tsf test (pid ${process.pid})` })
  a.close()
  t.notOk(isLocked(dir, { kind: 'state' }), 'close() releases the lock')
  const b = await TestStore.open(dir)
  b.close()
})

t.test('a store that refuses its file lets the lock go', async (t) => {
  const dir = t.testdir({ 'test.json': '{"version":2,"files":[]}' })
  await t.rejects(TestStore.open(dir), { message: /not a tsf test state file/ })
  t.notOk(isLocked(dir, { kind: 'state' }))
})

t.test('the pid file an earlier version locked the dir with does not block, and is removed', async (t) => {
  const dir = t.testdir({ lock: '1\n' }) // pid 1 is alive: the old lock would have refused
  const a = await TestStore.open(dir)
  t.notOk(existsSync(join(dir, 'lock')))
  a.close()
})
