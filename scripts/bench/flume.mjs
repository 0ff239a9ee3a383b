// Running real Flume 1.11.0 agents for the Flume workloads: jars from test-servers/flume/lib
// (`node scripts/servers.mjs fetch flume`), properties written per run, log4j2 logging to stderr so
// the Pipeline's readiness wait and its .err file see it, each JVM under GNU time like every stage.
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { flumeJavaArgs, flumeLog4j2 } from '../flume-agent.mjs'
import { Pipeline, sq } from './pipeline.mjs'
import { ROOT } from './tsf.mjs'

export const FLUME_LIB = join(ROOT, 'test-servers', 'flume', 'lib')
export const flumeMissing = () =>
  existsSync(join(FLUME_LIB, '.fetched')) ? undefined : 'Flume jars not fetched (node scripts/servers.mjs fetch flume)'

// `java -cp lib/* org.apache.flume.node.Application -n NAME -f CONF`, heap 256m
export const startFlume = (ctx, label, name, conf) => {
  const work = join(ctx.work, label)
  mkdirSync(work, { recursive: true })
  writeFileSync(join(work, 'agent.properties'), conf)
  writeFileSync(join(work, 'log4j2.xml'), flumeLog4j2())
  const java = process.env.JAVA_HOME ? join(process.env.JAVA_HOME, 'bin', 'java') : 'java'
  return new Pipeline({
    dir: ctx.work,
    stages: [
      {
        label,
        match: 'org.apache.flume.node.Application',
        cmd: [
          java,
          ...flumeJavaArgs({
            lib: FLUME_LIB,
            name,
            conf: join(work, 'agent.properties'),
            log4j2: join(work, 'log4j2.xml'),
            jvm: ['-Xms256m', '-Xmx256m'],
          }),
        ]
          .map(sq)
          .join(' '),
      },
    ],
  })
}

// the CPU seconds a process used so far (to take a JVM's start-up out of the timed window)
export const cpuSoFar = (pid) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1')
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(f[11]) + Number(f[12])) / Number(process.env.CLK_TCK ?? 100)
  } catch {
    return 0
  }
}

// every file of a directory, hidden (in-progress) ones included, with their sizes
export const bytesIn = (dir) => {
  if (!existsSync(dir)) return 0
  return readdirSync(dir).reduce((n, f) => {
    try {
      const s = statSync(join(dir, f))
      return s.isFile() ? n + s.size : n
    } catch {
      return n
    }
  }, 0)
}

// a Flume channel's properties: the durable file channel, or the memory channel (what Flume's
// users run when they trade durability for speed; capacity 10 batches)
const channelConf = (key, type, dir) =>
  type === 'memory'
    ? `${key}.type = memory
${key}.capacity = 10000
${key}.transactionCapacity = 1000`
    : `${key}.type = file
${key}.checkpointDir = ${dir}/checkpoint
${key}.dataDirs = ${dir}/data`

// A Flume agent: TAILDIR on DIR/*.log → file (or memory) channel → avro sink (batch 1000)
export const flumeAgentConf = (work, inDir, port, channel = 'file') => `
a.sources = r1
a.channels = c1
a.sinks = k1
a.sources.r1.type = TAILDIR
a.sources.r1.channels = c1
a.sources.r1.filegroups = f1
a.sources.r1.filegroups.f1 = ${inDir}/.*\\.log
a.sources.r1.positionFile = ${work}/taildir_position.json
a.sources.r1.batchSize = 1000
${channelConf('a.channels.c1', channel, `${work}/agent-fc`)}
a.sinks.k1.type = avro
a.sinks.k1.channel = c1
a.sinks.k1.hostname = 127.0.0.1
a.sinks.k1.port = ${port}
a.sinks.k1.batch-size = 1000
`

// A Flume collector: avro source → file (or memory) channel → file_roll (TEXT: body + newline, as
// the input)
export const flumeCollectorConf = (work, port, outDir, channel = 'file') => `
c.sources = r1
c.channels = c1
c.sinks = k1
c.sources.r1.type = avro
c.sources.r1.bind = 127.0.0.1
c.sources.r1.port = ${port}
c.sources.r1.channels = c1
${channelConf('c.channels.c1', channel, `${work}/collector-fc`)}
c.sinks.k1.type = file_roll
c.sinks.k1.channel = c1
c.sinks.k1.sink.directory = ${outDir}
c.sinks.k1.sink.rollInterval = 0
c.sinks.k1.sink.batchSize = 1000
`
