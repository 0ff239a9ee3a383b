// `tsf collect --listen 127.0.0.1:0 ARGS > /dev/null` as a direct child (no GNU time wrapper, so
// /proc/<pid> is the collector itself); resolves with the child and its port once it listens.
import { spawn } from 'node:child_process'

export const startBareCollect = (tsf, args, env = process.env) => {
  const child = spawn('sh', ['-c', `exec ${tsf} collect --listen 127.0.0.1:0 ${args} > /dev/null`], {
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  })
  let err = ''
  return new Promise((resolve, reject) => {
    child.stderr.on('data', (d) => {
      err += d
      const m = /listening on 127\.0\.0\.1:(\d+)/.exec(err)
      if (m) resolve({ child, port: Number(m[1]) })
    })
    child.on('exit', () => reject(new Error(err)))
  })
}
