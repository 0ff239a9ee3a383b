import t from 'tap'
import { closeSync, openSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { readAt } from '../../src/core/read-at.js'

t.test('readAt reads the bytes at a position, fewer only at the end of the file', async (t) => {
  const path = join(t.testdir(), 'f')
  const bytes = Buffer.from(Array.from({ length: 300_000 }, (_, i) => i % 251))
  writeFileSync(path, bytes)
  const fd = openSync(path, 'r')
  t.teardown(() => closeSync(fd))
  t.same(readAt(fd, 1000, 5000), bytes.subarray(1000, 6000), 'the bytes at 1000, all 5000 of them')
  t.same(readAt(fd, 0, bytes.length), bytes, 'the whole file in one call')
  t.same(readAt(fd, bytes.length - 10, 100), bytes.subarray(bytes.length - 10), 'the 10 left before the end, not 100')
  t.equal(readAt(fd, bytes.length + 5, 100).length, 0, 'nothing past the end')
  t.equal(readAt(fd, 0, 0).length, 0, 'nothing asked, nothing read')
})
