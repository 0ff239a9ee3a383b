// ship kafka:// stopped while it waits for the last acks behaves as ship to a collector does: the
// first SIGTERM stops reading and says it waits (bounded by --shutdown-timeout), then exits 0 with
// what stays unacked upstream; a second SIGTERM exits at once. Both against a dead destination, so
// the acks never come.
import t from 'tap'
import { readFileSync } from 'node:fs'
import { closedPort, sh, tmpdir, tsf, until } from '../../fixtures/procs.js'

t.setTimeout(120_000)

const start = (t: Parameters<typeof sh>[0], dir: string, target: string, timeout: string) => {
  const run = sh(
    t,
    `{ seq 1 10; sleep 100; } | { exec 3<&0; ${tsf} ship ${target} --shutdown-timeout ${timeout} <&3 2>ship.err & echo $! > ship.pid; wait $!; echo $? > ship.exit; }`,
    { cwd: dir },
  )
  const err = (): string => {
    try {
      return readFileSync(`${dir}/ship.err`, 'utf8')
    } catch {
      return ''
    }
  }
  const pid = (): number => Number(readFileSync(`${dir}/ship.pid`, 'utf8'))
  const exit = (): string => {
    try {
      return readFileSync(`${dir}/ship.exit`, 'utf8').trim()
    } catch {
      return ''
    }
  }
  return { run, err, pid, exit }
}

for (const kind of ['tcp', 'kafka'] as const) {
  const target = (port: number): string => (kind === 'kafka' ? `kafka://127.0.0.1:${port}/stop-test` : `127.0.0.1:${port}`)
  const acked = kind === 'kafka' ? 'acked by Kafka' : 'acked'

  t.test(`ship ${kind}: a first SIGTERM waits for the last acks, saying so, at most --shutdown-timeout`, async (t) => {
    const dir = tmpdir(t)
    const s = start(t, dir, target(await closedPort()), '3s')
    await until(() => /refused/.test(s.err()), 30_000, 'a failed connection', s.err)
    process.kill(s.pid(), 'SIGTERM')
    await until(() => s.exit() !== '', 60_000, 'the exit', s.err)
    t.equal(s.exit(), '0', s.err())
    t.match(s.err(), new RegExp(`stopping: waiting up to 3000 ms for 10 events to be ${acked}`))
    t.match(s.err(), /10 events stay unacked upstream/)
  })

  t.test(`ship ${kind}: a second SIGTERM while it waits exits at once`, async (t) => {
    const dir = tmpdir(t)
    const s = start(t, dir, target(await closedPort()), '100s')
    await until(() => /refused/.test(s.err()), 30_000, 'a failed connection', s.err)
    process.kill(s.pid(), 'SIGTERM')
    await until(() => /stopping: waiting up to 100000 ms/.test(s.err()), 30_000, 'the waiting line', s.err)
    process.kill(s.pid(), 'SIGTERM')
    await until(() => s.exit() !== '', 30_000, 'the exit', s.err)
    t.equal(s.exit(), '143', s.err())
    t.match(s.err(), /second SIGTERM: exiting now/)
  })
}
