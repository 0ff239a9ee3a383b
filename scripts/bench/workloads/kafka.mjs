// `tsf tail LOG | tsf ship kafka://BROKER/T` (acks=all, idempotent) next to `kcat -P -l LOG` with
// acks=all and idempotence on the same broker and lines, one after the other in the same run; and
// the other way, `tsf collect --from kafka:// | tsf roll DIR` next to `kcat -C -e` (below).
// The broker is TSF_TEST_KAFKA (`source` the env of `node scripts/servers.mjs start kafka`); each
// run writes a fresh topic and must leave exactly the log's line count in it.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { expectClean, expectSameBytes, expectTailRead, rolledFiles } from '../checks.mjs'
import { stateDir } from '../collector.mjs'
import { Pipeline, sleep, sq } from '../pipeline.mjs'
import { missing, TSF } from '../tsf.mjs'

const BROKER = process.env.TSF_TEST_KAFKA
const needsBroker = () => (BROKER ? undefined : 'TSF_TEST_KAFKA is not set (node scripts/servers.mjs start kafka; source its env)')
const needsKcat = () => (spawnSync('kcat', ['-V']).status === 0 ? undefined : 'kcat not installed (apt-get install kcat)')

// records in a topic: the sum of its partitions' end offsets (fresh topic, nothing deleted)
const countRecords = (topic) => {
  const out = execFileSync('kcat', ['-Q', '-b', BROKER, '-t', `${topic}:0:-1`], { encoding: 'utf8' })
  return out.split('\n').reduce((n, line) => n + Number(/offset (\d+)/.exec(line)?.[1] ?? 0), 0)
}

// TSF_BENCH_TOPIC_PREFIX: keeps the topics of several people on one shared broker apart
const topicName = (label) => `${process.env.TSF_BENCH_TOPIC_PREFIX ?? 'bench-'}${label}-${Date.now()}`

const workload = (name, title, needs, stages) => ({
  name,
  title,
  needs,
  async run(ctx) {
    const topic = topicName(name)
    const state = stateDir(ctx, `${name}-state`)
    const p = new Pipeline({ dir: ctx.work, stages: stages(ctx, topic, state), stdout: '/dev/null' })
    try {
      await p.wait(ctx.timeoutMs)
      const procs = p.processes()
      const written = countRecords(topic)
      const problem =
        expectClean(procs) ??
        (name === 'kafka' ? expectTailRead(state, ctx.log) : undefined) ??
        (written === ctx.log.lines ? undefined : `topic ${topic} holds ${written} records, expected ${ctx.log.lines}`)
      return { bytes: ctx.log.bytes, events: ctx.log.lines, wall: p.wall, procs, problem, command: p.command }
    } finally {
      p.kill()
    }
  },
})

export const kafkaTsf = workload(
  'kafka',
  'tsf tail | tsf ship kafka:// (acks=all, idempotent)',
  () => missing(['tail', 'ship']) ?? needsBroker(),
  (ctx, topic, state) => [
    { label: 'tail', cmd: `${TSF} tail --state ${sq(state)} ${sq(ctx.log.path)}` },
    { label: 'ship', cmd: `${TSF} ship kafka://${BROKER}/${topic}` },
  ],
)

export const kafkaKcat = workload(
  'kafka-kcat',
  'kcat -P -l (acks=all, idempotent)',
  () => needsBroker() ?? needsKcat(),
  (ctx, topic) => [
    { label: 'kcat', cmd: `kcat -P -b ${BROKER} -t ${topic} -X acks=all -X enable.idempotence=true -l ${sq(ctx.log.path)}` },
  ],
)

// ---- the consumer side: `tsf collect --from kafka:// | tsf roll DIR` next to `kcat -C -e > file`
// on the same topic, which holds the log as tsf events (what `tsf ship kafka://` sends: the lines
// `tsf tail` writes), put there once per run by kcat before either is measured. roll writes the
// bodies: its files must equal the log byte for byte; kcat's file must have one line per record.

const filled = new Map()
const eventTopic = (ctx) => {
  const known = filled.get(ctx.log.path)
  if (known) return known
  const topic = topicName('consume')
  const events = join(ctx.work, 'consume-events.ndjson')
  const state = stateDir(ctx, 'consume-fill-state')
  execFileSync('sh', ['-c', `${TSF} tail --state ${sq(state)} ${sq(ctx.log.path)} > ${sq(events)}`])
  execFileSync('kcat', ['-P', '-b', BROKER, '-t', topic, '-X', 'linger.ms=50', '-l', events])
  const written = countRecords(topic)
  if (written !== ctx.log.lines) throw new Error(`filling ${topic}: ${written} records, expected ${ctx.log.lines}`)
  filled.set(ctx.log.path, topic)
  return topic
}

// bytes in roll's files under dir (in-progress ones included, its state directory not)
const bytesUnder = (dir) => {
  if (!existsSync(dir)) return 0
  let n = 0
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    const where = e.parentPath ?? e.path
    if (!e.isFile() || where.includes('.tsf-roll')) continue
    try {
      n += statSync(join(where, e.name)).size
    } catch {
      // published (renamed) between the listing and the stat: counted at the next look
    }
  }
  return n
}

export const kafkaCollect = {
  name: 'kafka-collect',
  title: 'tsf collect --from kafka:// | tsf roll DIR (the log as events, read back)',
  needs: () => missing(['collect', 'roll']) ?? needsBroker() ?? needsKcat(),
  async run(ctx) {
    const topic = eventTopic(ctx)
    const out = join(ctx.work, 'kafka-collect-out')
    const group = `${topic}-g${Date.now()}`
    const p = new Pipeline({
      dir: ctx.work,
      stages: [
        { label: 'collect', cmd: `${TSF} collect --from kafka://${BROKER}/${topic} --group ${group}` },
        { label: 'roll', cmd: `${TSF} roll ${sq(out)}` },
      ],
      stdout: undefined,
    })
    try {
      // collect runs until stopped: stop it once roll holds every line (its shutdown is not timed)
      const deadline = Date.now() + ctx.timeoutMs
      while (bytesUnder(out) < ctx.log.bytes && Date.now() < deadline) await sleep(100)
      const wall = p.wall
      p.signal('collect')
      await p.wait(ctx.timeoutMs)
      const procs = p.processes()
      const problem = expectClean(procs) ?? (await expectSameBytes(rolledFiles(out), ctx.log, 'rolled output'))
      return { bytes: ctx.log.bytes, events: ctx.log.lines, wall, procs, problem, command: p.command }
    } finally {
      p.kill()
    }
  },
}

export const kafkaKcatConsume = {
  name: 'kafka-kcat-consume',
  title: 'kcat -C -e > file (the same topic read back)',
  needs: () => needsBroker() ?? needsKcat(),
  async run(ctx) {
    const topic = eventTopic(ctx)
    const out = join(ctx.work, 'kafka-kcat-consume.out')
    const p = new Pipeline({
      dir: ctx.work,
      stages: [{ label: 'kcat', cmd: `kcat -C -b ${BROKER} -t ${topic} -o beginning -e -q` }],
      stdout: out,
    })
    try {
      await p.wait(ctx.timeoutMs)
      const procs = p.processes()
      const got = execFileSync('wc', ['-l', out], { encoding: 'utf8' }).trim().split(/\s+/)[0]
      const problem =
        expectClean(procs) ?? (Number(got) === ctx.log.lines ? undefined : `kcat wrote ${got} lines, expected ${ctx.log.lines}`)
      return { bytes: ctx.log.bytes, events: ctx.log.lines, wall: p.wall, procs, problem, command: p.command }
    } finally {
      p.kill()
    }
  },
}
