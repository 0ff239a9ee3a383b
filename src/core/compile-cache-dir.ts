import { lstatSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

// Where node's compile cache keeps tsf's compiled code: a directory of our own user's, not node's
// default os.tmpdir()/node-compile-cache, which any local user could create first and fill with
// code that a tsf run as root would then load. Used only when the directory is ours and closed to
// everyone else; anything else (a squatted name, a link, a read-only /tmp) means no cache.
export const privateCacheDir = (): string | undefined => {
  const uid = process.getuid?.()
  if (uid === undefined) return undefined
  const dir = join(tmpdir(), `tsf-compile-cache-${uid}`)
  try {
    mkdirSync(dir, { mode: 0o700 })
  } catch {
    // there already (checked below), or cannot be made (no cache)
  }
  try {
    const st = lstatSync(dir)
    return st.isDirectory() && st.uid === uid && (st.mode & 0o077) === 0 ? dir : undefined
  } catch {
    return undefined
  }
}
