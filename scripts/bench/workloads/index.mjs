// Every workload, in the order the report lists them. Each has a name (for --only/--skip), a
// title, needs() (undefined when its commands exist, else why it is skipped) and run(ctx).
import baseline from './baseline.mjs'
import { chain, chainWithChannels } from './chain.mjs'
import channelRestart from './channel-restart.mjs'
import channel from './channel.mjs'
import codec from './codec.mjs'
import { connectionsRsyslog, connectionsTsf, connectionsWire } from './connections.mjs'
import { flumeMemory, flumeToFlume, flumeToTsf, tsfToFlume } from './flume.mjs'
import { hdfsCurl, hdfsLocal, hdfsTsf, hdfsTsfWindow } from './hdfs.mjs'
import { kafkaCollect, kafkaKcat, kafkaKcatConsume, kafkaTsf } from './kafka.mjs'
import { latencyRsyslog, latencyTsf } from './latency.mjs'
import { mongodbDriver, mongodbTsf } from './mongodb.mjs'
import rsyslogW1 from './rsyslog-w1.mjs'
import { syslogRsyslog, syslogTsf } from './syslog.mjs'
import ship from './ship.mjs'
import tail from './tail.mjs'

// rsyslog's W1 runs right after tsf's, so the two see the same load on a shared machine; the
// three Flume workloads run one after the other for the same reason, and so do kafka and
// kafka-kcat, kafka-collect and kafka-kcat-consume, and the four HDFS ones
export const workloads = [
  codec,
  baseline,
  tail,
  ship,
  chain,
  rsyslogW1,
  chainWithChannels,
  channel,
  channelRestart,
  latencyTsf,
  latencyRsyslog,
  syslogTsf,
  syslogRsyslog,
  connectionsTsf,
  connectionsRsyslog,
  connectionsWire,
  mongodbTsf,
  mongodbDriver,
  flumeToFlume,
  flumeMemory,
  flumeToTsf,
  tsfToFlume,
  kafkaTsf,
  kafkaKcat,
  kafkaCollect,
  kafkaKcatConsume,
  hdfsCurl,
  hdfsTsf,
  hdfsTsfWindow,
  hdfsLocal,
]
