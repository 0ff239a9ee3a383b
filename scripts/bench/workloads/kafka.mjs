// `tsf tail LOG | tsf ship kafka://BROKER/T` (acks=all, idempotent) next to `kcat -P -l LOG` with
// acks=all and idempotence on the same broker and lines, one after the other in the same run.
// The broker is TSF_TEST_KAFKA (`source` the env of `node scripts/servers.mjs start kafka`); each
// run writes a fresh topic and must leave exactly the log's line count in it.
import { execFileSync, spawnSync } from 'node:child_process'
import { expectClean, expectTailRead } from '../checks.mjs'
import { stateDir } from '../collector.mjs'
import { Pipeline, sq } from '../pipeline.mjs'
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
