// How the bench calls tsf, and whether a command (or one of its options) exists yet: the commands
// are being built while the bench runs, and a placeholder says "not built yet" in its help.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
export const TSF_JS = join(ROOT, 'bin/tsf.js')
// "node /abs/bin/tsf.js": the ack link recognises a tsf reader of a pipe by this command line
export const TSF = `node ${TSF_JS}`

const helpCache = new Map()

export const helpOf = (cmd) => {
  if (!helpCache.has(cmd)) {
    const r = spawnSync('node', [TSF_JS, cmd, '--help'], { encoding: 'utf8', timeout: 30_000 })
    helpCache.set(cmd, r.status === 0 ? r.stdout : undefined)
  }
  return helpCache.get(cmd)
}

// undefined when usable, else why not ("tail not built", "collect --syslog not built")
export const missing = (cmds, options = {}) => {
  for (const cmd of cmds) {
    const help = helpOf(cmd)
    if (help === undefined || /not built yet/.test(help)) return `${cmd} not built`
    for (const opt of options[cmd] ?? []) if (!help.includes(opt)) return `${cmd} ${opt} not built`
  }
  return undefined
}
