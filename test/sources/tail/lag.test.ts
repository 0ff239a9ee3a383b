// Tail's lag (bytes in the files past the acked checkpoint) in its metrics, per file and in total,
// and the progress it shows while catching up: a line redrawn on a terminal, one summary otherwise.
import { spawnSync } from 'node:child_process'
import { statSync, writeFileSync } from 'node:fs'
import t from 'tap'
import { numbered, pipeline, reader, sh, text, tsf, until } from '../../fixtures/tail-procs.js'

const metrics = async (port: number, path = '/metrics.json'): Promise<string> => (await fetch(`http://127.0.0.1:${port}${path}`)).text()
const big = (dir: string): string => {
  writeFileSync(`${dir}/big.log`, numbered('a fairly long line of a log file, to make megabytes quickly', 0, 100_000))
  return `${dir}/big.log`
}

t.test('a stalled downstream: the lag per file and in total; once all is acked: 0', async (t) => {
  const dir = t.testdir({})
  const log = big(dir)
  const size = statSync(log).size
  // a reader that never reads: tail fills the pipe and stops there
  const stalled = sh(t, `${tsf} tail ${log} -F --state st1 --metrics 127.0.0.1:21720 | sleep 60`, { cwd: dir })
  let m: { tail: Record<string, number>; files: { file: string; SizeBytes: number; AckedBytes: number; LagBytes: number }[] } | undefined
  await until(() => /metrics on/.test(stalled.stderr()), 20_000, 'the metrics line', stalled.stderr)
  // the metrics server answers before tail has listed its files: poll until the row is there
  for (let i = 0; i < 200; i++) {
    m = JSON.parse(await metrics(21720))
    if (m!.files?.length === 1 && m!.files[0]!.LagBytes > 0) break
    await new Promise((r) => setTimeout(r, 50))
  }
  const row = m!.files[0]!
  t.equal(row.file, log)
  t.equal(row.SizeBytes, size)
  t.equal(row.LagBytes, size - row.AckedBytes)
  t.ok(row.LagBytes > 1024 * 1024, `megabytes behind (${row.LagBytes})`)
  t.equal(m!.tail.LagBytes, row.LagBytes, 'the total is the sum of the files')
  const prom = await metrics(21720, '/metrics')
  t.match(prom, /^tsf_tail_lag_bytes \d+$/m)
  t.match(
    prom,
    new RegExp(`^tsf_tail_files_lag_bytes\\{file="${log.replace(/[.\\/]/g, '\\$&')}"\\} \\d+$`, 'm'),
    'per file, labelled, in Prometheus text',
  )
  stalled.child.kill('SIGKILL')

  // with a reader that acks everything, the lag goes to 0
  const p = pipeline(t, dir, `-F ${log} --state st2 --metrics 127.0.0.1:21721`)
  await until(
    () => /following 1 file/.test(text(`${dir}/tail.err`)),
    20_000,
    'tail to start',
    () => text(`${dir}/tail.err`),
  )
  let done: { tail: Record<string, number> } | undefined
  for (let i = 0; i < 600; i++) {
    done = JSON.parse(await metrics(21721))
    if (done!.tail.EventAcceptedCount === 100_000) break
    await new Promise((r) => setTimeout(r, 50))
  }
  t.equal(done!.tail.EventAcceptedCount, 100_000)
  t.equal(done!.tail.LagBytes, 0, 'caught up: no lag')
  process.kill(Number(text(`${dir}/tail.pid`).trim()), 'SIGTERM')
  await p.done
})

t.test('not a terminal: no progress line, one summary once caught up', async (t) => {
  const dir = t.testdir({})
  const log = big(dir)
  const r = await sh(t, `${tsf} tail ${log} --state st | ${reader} out`, { cwd: dir }).done
  t.equal(r.code, 0, r.stderr)
  t.notMatch(r.stderr, /\r|catching up/, 'no progress line')
  t.match(r.stderr, /^tsf tail: caught up: \d+\.\d MiB from 1 file in \d+\.\d s$/m)
})

// a real terminal (tmux) as stderr: the line is redrawn in place while tail is behind
const tmux = (...args: string[]): string => spawnSync('tmux', args, { encoding: 'utf8' }).stdout

t.test('on a terminal: a progress line while more than a MiB behind', async (t) => {
  const dir = t.testdir({})
  const log = big(dir)
  const session = `tsf-tail-progress-${process.pid}`
  t.teardown(() => tmux('kill-session', '-t', session))
  tmux('new-session', '-d', '-s', session, '-x', '200', '-y', '10', `cd ${dir} && ${tsf} tail ${log} -F --state st | sleep 60`)
  await until(
    () => /tsf tail: catching up: \d+\.\d MiB behind in 1 file, \d+\.\d MiB\/s/.test(tmux('capture-pane', '-p', '-t', session)),
    20_000,
    'the progress line',
    () => tmux('capture-pane', '-p', '-t', session),
  )
  t.pass('shown')
})
